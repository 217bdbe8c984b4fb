"""A member's own status at /status: the SMS code first, the same answers for a
registered and an unknown number until it is checked, then the status, the rolls,
how to claim, and the member's own choice of SMS notices."""

import json
import os
import re
import uuid
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import delete, select
from werkzeug.datastructures import MultiDict

from backoffice import sms
from backoffice.extensions import db
from backoffice.models import Member
from backoffice.models.audit import AuditEvent
from backoffice.models.members import MemberNotification
from backoffice.services import notifications, rolls, workflow
from backoffice.services.membership_numbers import format_membership_no
from tests import factories
from tests.test_join import _assert_alike, _observed

PHONE = "+919812300001"


def number_of(app, member) -> str:
    with app.test_request_context():
        return format_membership_no(member.id)


def code_for(app, phone=PHONE) -> str | None:
    with app.app_context():
        return sms.gateway().last_code_for(phone)


def sent_to(app, phone=PHONE) -> int:
    with app.app_context():
        return sum(1 for m in sms.gateway().outbox if m.phone == phone)


def look_up(b, typed):
    return b.post("/status", {"number": typed}, token_from="/status")


def open_status(app, b, typed, phone=PHONE):
    look_up(b, typed)
    return b.post("/status/code", {"code": code_for(app, phone)}, token_from="/status/code")


@pytest.fixture
def member(app, units):
    with app.test_request_context():
        return factories.approved(units["BLK-BILHA"], mobile=PHONE, epic="ABC1234567")


def test_the_page_is_hindi_by_default_and_phone_sized(app, browser):
    page = browser(lang=None).get("/status").get_data(as_text=True)
    assert '<html lang="hi">' in page and 'name="viewport"' in page
    assert "मेरी सदस्यता की स्थिति" in page
    assert "<script" not in page and not re.search(r"\son[a-z]+=", page)  # CSP: no inline code


@pytest.mark.parametrize("typed", ["number", "no prefix", "no zeros", "voter id"])
def test_a_member_sees_their_status_after_the_code(app, browser, member, typed):
    number = number_of(app, member)
    typed = {"number": number, "no prefix": number[2:], "no zeros": number[2:].lstrip("0"),
             "voter id": "abc 1234567"}[typed]
    b = browser()
    answer = look_up(b, typed)
    assert answer.headers["Location"] == "/status/code"
    code_page = b.get("/status/code").get_data(as_text=True)
    assert "98••••0001" not in code_page and "0001" not in code_page  # no phone before
    assert b.get("/status/me").headers["Location"] == "/status/code"
    shown = b.post("/status/code", {"code": code_for(app)}, token_from="/status/code")
    assert shown.headers["Location"] == "/status/me"
    page = b.get("/status/me")
    text = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert number in text and "+91 98••••0001" in text and "Approved" in text
    assert "No roll has been published" in text


@pytest.mark.parametrize(("status", "reason", "shown"), [
    ("recorded", None, "Recorded: your mobile number is not verified yet"),
    ("phone_verified", None, "Phone verified: your block president has yet to approve"),
    ("approved", None, "Approved: you are a member."),
    ("rejected", "Under 18 on the form", "Not approved"),
    ("revoked", "Joined another party", "Revoked: your membership was ended."),
])
def test_each_status_is_told_with_its_reason(app, browser, units, status, reason, shown):
    with app.test_request_context():
        factories.member(units["BLK-BILHA"], mobile=PHONE, epic="ABC1234567", status=status,
                         status_reason=reason)
    b = browser()
    open_status(app, b, "ABC1234567")
    text = b.get("/status/me").get_data(as_text=True)
    assert shown in text
    if reason:
        assert f"Reason: {reason}" in text and "contact your block office" in text


def test_the_rolls_are_shown_with_the_serial_and_how_to_claim(app, browser, units, staff,
                                                              member):
    cut_off = date(2026, 11, 15)
    with app.test_request_context():
        factories.approved(units["BLK-BILHA"], booth_no="12")  # another on the booth
        final = factories.preliminary_roll(staff["ro"], units["DIST-BILASPUR"],
                                           "ज़िला सम्मेलन 2026", cut_off,
                                           cut_off + timedelta(days=2), today=cut_off)
        rolls.finalise(staff["ro"], final.id, today=cut_off + timedelta(days=3))
        factories.preliminary_roll(staff["ro"], units["BLK-BILHA"], "ब्लॉक सम्मेलन", cut_off,
                                   date.today() + timedelta(days=10))
        db.session.commit()
    b = browser()
    open_status(app, b, "ABC1234567")
    text = b.get("/status/me").get_data(as_text=True)
    assert "ज़िला सम्मेलन 2026" in text and "Final roll" in text
    assert "You are on this roll: booth 12, serial" in text
    assert "ब्लॉक सम्मेलन" in text and "Preliminary roll" in text
    deadline = (date.today() + timedelta(days=10)).strftime("%d/%m/%Y")
    assert f"Claims and objections until {deadline}" in text
    assert "ask your block president to file a claim" in text


def _walk(app, b, typed, resends=1) -> list[dict]:
    """Look up, then try the code step the way someone probing the page would."""
    seen = [_observed(app, look_up(b, typed)), _observed(app, b.get("/status/code"))]
    token = b.csrf_token("/status/code")
    steps = [{"code": "000000"}, {"code": "12"}] + [{"resend": "1", "code": ""}] * resends
    steps += [{"code": "000000"}] * 6
    for step in steps:
        seen.append(_observed(app, b.client.post("/status/code",
                                                 data=step | {"csrf_token": token})))
        seen.append(_observed(app, b.get("/status/code")))
    seen.append(_observed(app, b.get("/status/me")))
    seen.append(_observed(app, look_up(b, typed)))  # the same number again
    seen.append(_observed(app, b.get("/status/code")))
    return seen


@pytest.mark.parametrize("unknown", ["number", "voter id", "erased"])
def test_an_unknown_number_looks_exactly_like_a_registered_one(app, browser, units, member,
                                                               unknown):
    """Body, status, headers, cookie contents, tries left, cooldowns and limits: the same
    answers whether the number or voter ID is registered or not, until the code."""
    app.config["STATUS_CHECK_LIMIT"] = "6/hour"  # the walk meets this limit too
    app.config["STATUS_LOOKUP_LIMIT"] = "1/hour"  # ...and this one, at the second lookup
    with app.test_request_context():
        erased = factories.member(units["BLK-BILHA"], epic="ERA1234567",
                                  erased_at=date(2026, 11, 20))
        known = {"number": number_of(app, member), "voter id": "ABC1234567",
                 "erased": "ERA1234567"}
        nobody = {"number": format_membership_no(member.id + 1000),
                  "voter id": "XYZ7654321", "erased": number_of(app, erased)}[unknown]
        if unknown == "erased":
            known = known["voter id"]
        else:
            known = known[unknown]
    registered = _walk(app, browser(), known, resends=2)
    stand_in = _walk(app, browser(), nobody, resends=2)
    assert sent_to(app) >= 1 and sent_to(app, erased.mobile) == 0
    flashes = [c[2].get("_flashes") for step in registered for c in step["cookies"]]
    assert [("success", "If this number is registered, we have sent a code by SMS to the "
             "mobile registered with it. It is valid for 10 minutes.")] in flashes
    assert [("error", "The code is wrong. 4 tries left.")] in flashes
    assert [("error", "Enter the 6-digit code, using the digits 0-9.")] in flashes
    assert any(f and f[0][1].startswith("Wait ") for f in flashes)  # the resend's cooldown
    assert [("error", "Too many wrong codes. Ask for a new code.")] in flashes
    assert [("error", "Too many codes were sent to this number. Wait a while and try "
             "again.")] in flashes
    _assert_alike(registered, stand_in)


def test_an_unknown_lookup_is_held_as_long_as_a_registered_one_usually_takes(
        app, browser, member, monkeypatch):
    """The stand-in's answer waits out the median of real lookups (signups.Pace), as on
    /join; no clock in the assertion: the pace is asked and sleep recorded."""
    from backoffice.services import signups

    kept = []
    real_keep = signups.Pace.keep
    monkeypatch.setattr(signups.Pace, "keep",
                        lambda self, step, real, started: kept.append((step, real))
                        or real_keep(self, step, real, started))
    look_up(browser(), "ABC1234567")
    look_up(browser(), "XYZ7654321")
    assert kept == [("status", True), ("status", False)]


def test_a_typed_text_that_is_no_number_is_told_at_once(app, browser, member):
    page = look_up(browser(), "hello").get_data(as_text=True)
    assert "Type your membership number" in page
    assert sent_to(app) == 0


def test_lookups_are_limited_per_address(make_app):
    from tests.conftest import Browser

    app = make_app(RATELIMIT_ENABLED=True, STATUS_RATE_LIMIT="2/hour")
    b = Browser(app)
    codes = [b.post("/status", {"number": "hello"}, token_from="/status").status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]


def test_codes_are_limited_per_number_typed_however_it_is_typed(app, browser, member):
    app.config["STATUS_LOOKUP_LIMIT"] = "2/hour"
    number = number_of(app, member)
    for typed in (number, number[2:].lstrip("0")):
        look_up(browser(), typed)
    third = browser()
    look_up(third, f"{number[:2]} {number[2:]}")
    assert "Too many codes were sent" in third.get("/status/code").get_data(as_text=True)
    assert sent_to(app) == 2
    look_up(browser(), "ABC1234567")  # the voter ID is counted on its own
    assert sent_to(app) == 3


def test_a_code_checked_once_opens_the_page_for_a_short_while(app, browser, member):
    b = browser()
    open_status(app, b, "ABC1234567")
    assert b.get("/status/me").status_code == 200
    app.config["STATUS_SESSION_SECONDS"] = 0
    closed = b.get("/status/me")
    assert closed.headers["Location"] == "/status"
    assert "the status page closes after a few minutes" in b.get("/status").get_data(
        as_text=True)
    assert b.get("/status/me").headers["Location"] == "/status"  # the cookie is gone


def test_closing_the_page_ends_the_lookup(app, browser, member):
    b = browser()
    open_status(app, b, "ABC1234567")
    b.post("/status/end", {}, token_from="/status/me")
    assert b.get("/status/me").headers["Location"] == "/status"


def _notices(b, value):
    return b.post("/status/notices", {"notices": value}, token_from="/status/me")


def test_the_member_turns_notices_off_as_their_own_audited_act(app, browser, units, staff,
                                                               member):
    b = browser(staff["bilha"])  # a staff login in the same browser is not the actor
    open_status(app, b, "ABC1234567")
    assert b.client.post("/status/notices", data={"notices": "off"}).status_code == 400
    _notices(b, "off")
    db.session.expire_all()
    assert db.session.get(Member, member.id).sms_opt_out is True
    text = b.get("/status/me").get_data(as_text=True)
    assert "SMS notices are off" in text and "Turn SMS notices on" in text
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "member.sms_opt_out", AuditEvent.entity_id == member.id))
    assert event.actor_user_id is None and event.unit_id == member.block_id
    assert json.loads(event.details)["by"] == "member"
    assert json.loads(event.changes) == {"sms_opt_out": [False, True]}
    _notices(b, "on")
    db.session.expire_all()
    assert db.session.get(Member, member.id).sms_opt_out is False
    assert db.session.scalar(select(AuditEvent.actor_user_id).where(
        AuditEvent.action == "member.sms_opt_in")) is None


def test_notices_cannot_be_changed_before_the_code(app, browser, member):
    b = browser()
    look_up(b, "ABC1234567")
    token = b.csrf_token("/status/code")
    answer = b.client.post("/status/notices", data={"notices": "off", "csrf_token": token})
    assert answer.headers["Location"] == "/status"
    db.session.expire_all()
    assert db.session.get(Member, member.id).sms_opt_out is False


def test_an_opted_out_member_gets_no_approval_sms_but_the_roll_notice(app, browser, units,
                                                                      staff):
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], mobile=PHONE, epic="ABC1234567",
                                  status="phone_verified", created_at=date(2026, 11, 1),
                                  verified_at=date(2026, 11, 1))
    b = browser()
    open_status(app, b, "ABC1234567")
    _notices(b, "off")
    before = sent_to(app)
    with app.test_request_context():
        workflow.apply(staff["bilha"], "approve", [member.id])
        db.session.commit()
        notifications.dispatch_waiting()
        cut_off = date(2026, 11, 15)
        factories.preliminary_roll(staff["ro"], units["DIST-BILASPUR"], "ज़िला सम्मेलन 2026",
                                   cut_off, cut_off + timedelta(days=10), today=cut_off)
        db.session.commit()
        notifications.dispatch_waiting()
    states = dict(db.session.execute(select(MemberNotification.event, MemberNotification.state)
                                     .where(MemberNotification.member_id == member.id)).all())
    assert states == {"approved": "skipped", "preliminary": "sent"}
    with app.app_context():
        texts = [m.text for m in sms.gateway().outbox if m.phone == PHONE][:sent_to(app) - before]
    assert len(texts) == 1 and "25/11/2026" in texts[0]


def test_a_wrong_code_counts_and_never_opens(app, browser, member):
    b = browser()
    look_up(b, "ABC1234567")
    right = code_for(app)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    b.post("/status/code", {"code": wrong}, token_from="/status/code")
    assert "The code is wrong. 4 tries left." in b.get("/status/code").get_data(as_text=True)
    assert b.get("/status/me").headers["Location"] == "/status/code"
    for _ in range(4):
        b.post("/status/code", {"code": wrong}, token_from="/status/code")
    b.post("/status/code", {"code": right}, token_from="/status/code")  # its tries are spent
    assert "Too many wrong codes" in b.get("/status/code").get_data(as_text=True)
    assert b.get("/status/me").headers["Location"] == "/status/code"


def test_the_join_success_page_leads_to_status(app, browser, units):
    from tests.test_join import fill

    app.config["JOIN_MIN_SECONDS"] = 0
    b = browser()
    fill(b, units)
    done = b.post("/join/verify", {"code": code_for(app, "+919876543210")},
                  token_from="/join/verify")
    assert 'href="/status"' in done.get_data(as_text=True)


@pytest.mark.parametrize(("event", "linked"), [("rejected", True), ("preliminary", True),
                                               ("approved", False)])
def test_the_notices_about_a_decision_or_a_roll_lead_to_status(app, units, event, linked):
    app.config["PUBLIC_BASE_URL"] = "https://sadasya.example"
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], status="rejected", status_reason="Under 18")
        notice = MemberNotification(member_id=member.id, event=event, ref="roll:1",
                                    params=json.dumps({"claims_until": "25/11/2026"}))
        text = notifications.text_for(notice, member, "en")
        app.config["PUBLIC_BASE_URL"] = None
        without = notifications.text_for(notice, member, "en")
    assert ("https://sadasya.example/status -Sadasya" in text) is linked
    assert "/status" not in without and "  " not in without


@pytest.mark.skipif(not os.environ.get("BACKOFFICE_TEST_REDIS_URL"),
                    reason="set BACKOFFICE_TEST_REDIS_URL to test Redis")
def test_the_limit_per_number_holds_across_two_app_processes_through_redis(make_app):
    """Two app instances (as two gunicorn workers) count one number's codes together,
    and an unknown number's as a registered one's."""
    import redis

    from backoffice import ratelimits
    from backoffice.models import JoinSignup
    from backoffice.services import lookups
    from tests.conftest import Browser

    url = os.environ["BACKOFFICE_TEST_REDIS_URL"]
    typed = f"RDS{uuid.uuid4().int % 10**7:07d}"  # nobody's, and new to this Redis
    apps = [make_app(RATELIMIT_STORAGE_URI=url, STATUS_LOOKUP_LIMIT="2/hour")
            for _ in range(2)]
    told = []
    for attempt in range(3):
        b = Browser(apps[attempt % 2])
        b.client.set_cookie("lang", "en")
        b.client.environ_base["REMOTE_ADDR"] = "192.0.2.17"
        b.post("/status", {"number": typed}, token_from="/status")
        told.append("Too many codes were sent" in b.get("/status/code").get_data(as_text=True))
    assert told == [False, False, True]
    with apps[0].test_request_context():
        key = ratelimits._key(lookups.identify(typed)[0])
        db.session.execute(delete(JoinSignup).where(JoinSignup.purpose == "status"))
        db.session.commit()
    client = redis.Redis.from_url(url)
    keys = client.keys(f"*{key}*")
    assert keys, "the counts live in Redis, where every worker sees them"
    client.delete(*keys)


@pytest.mark.parametrize("reason", ["unavailable", "blocked"])
def test_a_failing_gateway_tells_nothing_either(app, browser, member, monkeypatch, reason):
    """The gateway down: a registered number's send fails, and an unknown number's
    stand-in says the same, with the same counts. A number the provider refuses (one
    phone's trouble) is answered as a send: the code just does not come."""
    from backoffice.sms.console import MemoryGateway

    def refuse(self, phone, code, text, locale):
        raise sms.GatewayError(reason, "test")

    monkeypatch.setattr(MemoryGateway, "send_code", refuse)
    registered = _walk(app, browser(), "ABC1234567")
    stand_in = _walk(app, browser(), "XYZ7654321")
    flashes = [c[2].get("_flashes") for step in registered for c in step["cookies"]]
    told = any(f and f[0][1].startswith("We could not send the SMS just now") for f in flashes)
    assert told is (reason == "unavailable")
    _assert_alike(registered, stand_in)
    assert db.session.scalar(select(AuditEvent.details).where(
        AuditEvent.action == "otp.send_failed", AuditEvent.entity_id == member.id))


# Crafted values a prober sends to the status pages' forms (the url_map walker in
# tests/views/test_crafted_input.py reaches them only without a lookup open).
CRAFTED = ["ab\x00cd", "a\x01\x1b[31m\x7f", "x" * 100_000, "9" * 40, "-1", "١٢३४५६",
           "१२३४५६", "\u202e123456", "1e9999", "CG" + "9" * 30, "CG000000000", "%_\\"]
UNDECODABLE = ["%ff%fe", "%c0%af", "%ed%a0%80"]
FIELDS = ("number", "code", "notices", "resend")


def _hindi_or_normal(response) -> bool:
    if response.status_code >= 500:
        return False
    return response.status_code < 400 or '<html lang="hi"' in response.get_data(as_text=True)


@pytest.mark.parametrize("stage", ["code sent", "page open"])
def test_crafted_fields_on_a_lookup_get_a_page_in_the_users_language(app, browser, member,
                                                                        stage):
    """NUL bytes (PostgreSQL refuses them in text), control characters, 100 kB, digits
    of other scripts, numbers past any integer column, undecodable bytes, a field twice
    or missing, on every status form: a page in Hindi, never a 5xx, and no CSRF token is
    a 400 page in Hindi, not a 500."""
    app.config.update(STATUS_RATE_LIMIT="10000/hour", STATUS_LOOKUP_LIMIT="10000/hour",
                      STATUS_CHECK_LIMIT="10000/hour", OTP_PHONE_LIMIT="10000/hour",
                      OTP_IP_LIMIT="10000/hour")
    b = browser(lang="hi")
    look_up(b, "ABC1234567")
    if stage == "page open":
        open_status(app, b, "ABC1234567")
        assert b.get("/status/me").status_code == 200
    token = b.csrf_token("/status")
    wrong = []
    for url in ("/status", "/status/code", "/status/notices", "/status/end"):
        for name in FIELDS:
            for value in CRAFTED:
                for twice in (False, True):
                    data = MultiDict([("csrf_token", token), (name, value)]
                                     + ([(name, "123456")] if twice else []))
                    response = b.client.post(url, data=data)
                    if not _hindi_or_normal(response):
                        wrong.append((url, name, value[:12], twice, response.status_code))
            for value in UNDECODABLE:
                response = b.client.post(url, data=f"csrf_token={quote(token)}&{name}={value}",
                                         content_type="application/x-www-form-urlencoded")
                if not _hindi_or_normal(response):
                    wrong.append((url, name, value, response.status_code))
            response = b.client.get(f"{url}?{name}=%00")
            if not _hindi_or_normal(response):
                wrong.append(("GET", url, name, response.status_code))
        response = b.client.post(url, data={"csrf_token": token})  # every field missing
        if not _hindi_or_normal(response):
            wrong.append((url, "no fields", response.status_code))
        response = b.client.post(url, data={"number": "ABC1234567", "code": "123456",
                                            "notices": "off"})
        page = response.get_data(as_text=True)
        if response.status_code != 400 or "फ़ॉर्म की समय-सीमा समाप्त हो गई थी" not in page:
            wrong.append((url, "no CSRF token", response.status_code))
        for method in ("HEAD", "OPTIONS", "PUT", "DELETE"):
            if b.client.open(url, method=method).status_code >= 500:
                wrong.append((url, method))
    assert not wrong, wrong
    with app.app_context():
        assert db.session.get(Member, member.id).sms_opt_out is not None  # still readable


def _handle_in(b, key) -> str | None:
    with b.client.session_transaction() as session:
        return session.get(key)


def test_a_join_cookie_opens_no_status_page_and_a_status_cookie_no_join_step(
        app, browser, units, member):
    """The browser's handle names a session of one purpose only: a /join signup's
    handle sent to /status (a cookie made for the other page) is no lookup, and a
    lookup's handle sent to /join/verify is no signup."""
    from tests.test_join import fill

    join_app = app
    app.config["JOIN_MIN_SECONDS"] = 0
    joined = browser(lang="hi")
    fill(joined, units)
    join_handle = _handle_in(joined, "join_signup")
    looked = browser(lang="hi")
    open_status(join_app, looked, "ABC1234567")
    status_handle = _handle_in(looked, "status_lookup")
    assert join_handle and status_handle

    crossed = browser(lang="hi")
    with crossed.client.session_transaction() as session:
        session["status_lookup"] = join_handle
        session["join_signup"] = status_handle
    for url in ("/status/code", "/status/me"):
        assert crossed.get(url).headers["Location"] == "/status", url
    for url in ("/status/notices", "/status/end"):
        response = crossed.post(url, {"notices": "off"}, token_from="/status")
        assert response.headers["Location"] == "/status", url
    assert crossed.get("/join/verify").headers["Location"] == "/join"
    assert crossed.post("/join/number", {"mobile": "9812300002"},
                        token_from="/join").headers["Location"] == "/join"
    with join_app.app_context():
        assert not db.session.get(Member, member.id).sms_opt_out


def test_a_forged_or_stale_status_cookie_is_the_lookup_page(app, browser, member):
    """A session cookie not signed by us, or a handle of another shape, is no lookup:
    the lookup page, in the user's language."""
    b = browser(lang="hi")
    open_status(app, b, "ABC1234567")
    handle = _handle_in(b, "status_lookup")
    for forged in (handle[:-1] + ("A" if handle[-1] != "A" else "B"), handle * 3, "", 12,
                   ["x"], "\x00"):
        with b.client.session_transaction() as session:
            session["status_lookup"] = forged
        assert b.get("/status/me").headers["Location"] == "/status", forged
    other = browser(lang="hi")
    other.client.set_cookie("session", "eyJzdGF0dXNfbG9va3VwIjoieCJ9.forged.sig")
    response = other.get("/status/me")
    assert response.headers["Location"] == "/status"
    page = other.get("/status").get_data(as_text=True)
    assert response.status_code == 302 and '<html lang="hi"' in page
