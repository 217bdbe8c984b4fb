"""A typed membership number on the checker, in chromium: opened once with the network,
then offline, a number on the final roll shows its booth and serial, a revoked member's
number shows revoked, an unknown number "not on the final roll", a mistyped one is
refused, each answer with its list's date; a list whose signature fails is refused
and the last good one kept."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import Member, RoleAssignment, RollEntry, StaffUser, Unit
from backoffice.services import cards, rolls, workflow
from backoffice.services.membership_numbers import format_membership_no
from tests.browser.conftest import SKIPS, watch_security_policy

pytestmark = SKIPS
TITLE = "बूथ जाँच परीक्षण सम्मेलन"


def staff_with(role: str) -> tuple[StaffUser, int]:
    return db.session.execute(
        select(StaffUser, RoleAssignment.unit_id)
        .join(RoleAssignment, RoleAssignment.user_id == StaffUser.id)
        .where(RoleAssignment.role == role).order_by(StaffUser.id).limit(1)).one()


def final_roll_numbers(app) -> dict:
    """A final roll made once for the session's app by the state admin, one member on it
    revoked since: of a district outside Bilaspur, whose rolls the journeys of the
    returning officer take through their steps (and photograph)."""
    if "numbers" in app.extensions.get("check_number_test", {}):
        return app.extensions["check_number_test"]["numbers"]
    with app.app_context(), app.test_request_context():
        officer = staff_with("state_admin")[0]
        today = date.today()
        unit_id = db.session.execute(
            select(Member.district_id, func.count()).where(
                Member.status == "approved", Member.district_id != db.session.scalar(
                    select(Unit.id).where(Unit.code == "DIST-BILASPUR")))
            .group_by(Member.district_id).order_by(func.count().desc()).limit(1)).first()[0]
        roll = rolls.create(officer, db.session.get(Unit, unit_id), today, TITLE)
        rolls.freeze(officer, roll.id)
        rolls.publish(officer, roll.id, today, today=today)
        rolls.finalise(officer, roll.id, today=today + timedelta(days=1))
        kept, dropped = db.session.scalars(select(RollEntry).where(
            RollEntry.roll_id == roll.id).order_by(RollEntry.serial.desc()).limit(2)).all()
        outcome = workflow.apply(staff_with("state_admin")[0], "revoke", [dropped.member_id],
                                 reason="दोहरी सदस्यता")
        assert outcome.done == [dropped.member_id]
        top = db.session.scalar(select(Member.id).order_by(Member.id.desc()).limit(1))
        numbers = {"on": format_membership_no(kept.member_id), "booth": kept.booth_no,
                   "serial": kept.serial, "name": kept.full_name,
                   "revoked": format_membership_no(dropped.member_id),
                   "unknown": format_membership_no(top + 1000)}
        db.session.commit()
    app.extensions["check_number_test"] = {"numbers": numbers}
    return numbers


def verdict(page, typed: str) -> str:
    page.fill("#number", typed)
    page.click("#number-form button[type=submit]")
    return page.wait_for_selector("#result[data-verdict]").get_attribute("data-verdict")


def test_a_typed_number_is_checked_offline(live, chromium):
    app, base = live
    numbers = final_roll_numbers(app)
    problems: list[str] = []
    context = chromium.new_context(viewport={"width": 412, "height": 900})
    context.add_cookies([{"name": "lang", "value": "hi", "url": base}])
    watch_security_policy(context, problems)
    asked: list[str] = []
    context.on("request", lambda request: asked.append(request.url))
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{base}/check")
        page.wait_for_selector("#checker[data-offline-ready='1'][data-rolls-ready='1']",
                               state="attached")
        context.set_offline(True)
        page.reload()  # the page from the service worker's cache, the lists from the phone
        page.wait_for_selector("#checker[data-rolls-ready='1']", state="attached")

        assert verdict(page, numbers["on"]) == "on-roll"
        answer = page.locator("#result").inner_text()
        assert "अंतिम सूची में है / On the final roll" in answer
        assert TITLE in answer and numbers["booth"] in answer
        assert str(numbers["serial"]) in answer
        assert numbers["name"] not in answer  # the lists carry no names
        issued = page.get_attribute("#rolls-status", "data-issued")
        assert issued.startswith(date.today().isoformat()[:4])
        assert "Only as current as the final-roll list of" in answer
        assert "{date}" not in answer

        # the same number typed as people do: lower case, spaces, no leading zeros
        short = numbers["on"][2:].lstrip("0")
        assert verdict(page, f"cg {short}") == "on-roll"
        assert verdict(page, short) == "on-roll"
        assert verdict(page, numbers["revoked"]) == "number-revoked"
        assert "रद्द" in page.locator("#result").inner_text()
        assert verdict(page, numbers["unknown"]) == "not-on-roll"
        assert "अंतिम सूची में नहीं है" in page.locator("#result").inner_text()
        mistyped = numbers["on"][:-1] + str((int(numbers["on"][-1]) + 1) % 10)
        assert verdict(page, mistyped) == "mistyped"
        assert verdict(page, "hello") == "mistyped"
    finally:
        context.close()
    assert not problems, "\n".join(problems)
    typed = [numbers[key][2:].lstrip("0") for key in ("on", "revoked", "unknown")]
    assert not [url for url in asked if any(part in url for part in typed)]


def tampered_index(route):
    """The index as the server signed it, one character of its list changed."""
    response = route.fetch()
    signed = response.json()
    listed = signed["list"]
    signed["list"] = listed[:10] + ("A" if listed[10] != "A" else "B") + listed[11:]
    route.fulfill(response=response, body=json.dumps(signed))


def tampered_roll(route):
    response = route.fetch()
    data = bytearray(response.body())
    data[-3] ^= 0x01
    route.fulfill(response=response, body=bytes(data))


def test_a_tampered_list_is_refused_and_the_last_good_one_kept(live, chromium):
    app, base = live
    numbers = final_roll_numbers(app)
    problems: list[str] = []
    # no service worker, so that the routes see every request the page makes
    context = chromium.new_context(viewport={"width": 412, "height": 900},
                                   service_workers="block")
    watch_security_policy(context, problems)
    try:
        context.route("**/check/rolls.json", tampered_index)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{base}/check")
        page.wait_for_selector("#checker[data-rolls-ready='0']", state="attached")
        assert verdict(page, numbers["on"]) == "no-list"
        assert page.get_attribute("#rolls-status", "data-refused") == "1"
        assert "अस्वीकार" in page.locator("#rolls-status").inner_text()

        context.unroute("**/check/rolls.json")
        context.route("**/check/rolls/*.bin", tampered_roll)
        assert verdict(page, numbers["on"]) == "no-list"  # a roll file is refused too
        assert page.get_attribute("#rolls-status", "data-refused") == "1"

        context.unroute("**/check/rolls/*.bin")
        assert verdict(page, numbers["on"]) == "on-roll"
        assert page.get_attribute("#rolls-status", "data-refused") == "0"

        context.route("**/check/rolls.json", tampered_index)
        assert verdict(page, numbers["on"]) == "on-roll"  # the kept list answers
        assert page.get_attribute("#rolls-status", "data-refused") == "1"
        page.reload()
        page.wait_for_selector("#checker[data-rolls-ready='1']", state="attached")
        assert verdict(page, numbers["unknown"]) == "not-on-roll"
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_a_list_signed_by_another_key_is_refused(live, chromium):
    """A list made and signed elsewhere (a key the page does not know) counts as none."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from backoffice.services import roll_check
    app, base = live
    numbers = final_roll_numbers(app)
    other = Ed25519PrivateKey.generate()
    body = json.dumps({"v": 1, "issued": "2099-01-01T00:00:00Z", "rolls": [],
                       "revoked": []}).encode()
    forged = {"list": cards.b64u(body),
              "kid": cards.b64u(cards.key_id(cards.raw_public(other.public_key()))),
              "sig": cards.b64u(other.sign(roll_check.INDEX_CONTEXT + body))}
    context = chromium.new_context(service_workers="block")
    try:
        context.route("**/check/rolls.json", lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(forged)))
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{base}/check")
        assert verdict(page, numbers["on"]) == "no-list"
    finally:
        context.close()
