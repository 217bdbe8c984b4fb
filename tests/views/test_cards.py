"""The card link opens one member's card, without a login, while it is young and the
member is approved; the checker page may use the camera and carries no personal data."""

from __future__ import annotations

import json
import time

import pytest

from backoffice.extensions import db
from backoffice.services import cards, workflow
from tests import factories


@pytest.fixture
def member(ctx, units):
    return factories.approved(units["BLK-BILHA"], full_name="प्रियंका त्रिपाठी")


def test_the_link_opens_the_card_as_png_and_pdf(app, member):
    token = cards.link_token(member)
    client = app.test_client()
    png = client.get(f"/card/{token}.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG")
    assert "no-store" in png.headers["Cache-Control"]
    pdf = client.get(f"/card/{token}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get(f"/card/{token}.html").status_code == 404


def test_the_link_for_the_sms_opens_the_png(app, member):
    link = cards.card_link(member)
    assert link.startswith("http://localhost/card/") and link.endswith(".png")
    assert app.test_client().get(link.removeprefix("http://localhost")).status_code == 200


def test_a_changed_or_expired_link_opens_nothing(app, member, monkeypatch):
    client = app.test_client()
    token = cards.link_token(member)
    assert client.get(f"/card/{token[:-2]}xx.png").status_code == 404
    assert client.get("/card/..%2f..%2fetc.png").status_code == 404
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 31 * 86400)
    old = cards.link_token(member)
    monkeypatch.setattr(time, "time", real)
    assert client.get(f"/card/{old}.png").status_code == 404


def test_a_value_signed_for_another_purpose_opens_no_card(app, member, browser):
    """The /join form's signed stamp, or the member's id signed for any other purpose, is
    no card link: a 404 page in the user's language. A card link is no /join stamp."""
    from backoffice import keys
    from backoffice.join import STAMP_PURPOSE

    others = [keys.serializer(STAMP_PURPOSE).dumps(time.time()),
              keys.serializer("join/form-served").dumps({"m": member.id}),
              keys.serializer("status").dumps({"m": member.id}),
              keys.serializer(cards.LINK_PURPOSE).dumps({"m": str(member.id)}),
              keys.serializer(cards.LINK_PURPOSE).dumps({"m": 10 ** 30}),
              keys.serializer(cards.LINK_PURPOSE).dumps({"m": 2 ** 31}),
              keys.serializer(cards.LINK_PURPOSE).dumps({"m": True}),
              keys.serializer(cards.LINK_PURPOSE).dumps([member.id])]
    b = browser(lang="hi")
    for token in others:
        response = b.get(f"/card/{token}.png")
        assert response.status_code == 404, token
        assert "यह पेज या रिकॉर्ड नहीं मिला" in response.get_data(as_text=True)
    with app.test_request_context():
        from backoffice.join import JoinForm, _started
        form = JoinForm(meta={"csrf": False}, data={"started": cards.link_token(member)})
        assert _started(form) is None  # a card link posted as the form's stamp: forged
        for stamp in (10 ** 400, "now", [1]):  # signed, but no time
            form = JoinForm(meta={"csrf": False},
                            data={"started": keys.serializer(STAMP_PURPOSE).dumps(stamp)})
            assert _started(form) is None


def test_a_revoked_members_link_opens_nothing(app, member, staff):
    token = cards.link_token(member)
    workflow.apply(staff["district"], "revoke", [member.id], reason="दोहरी सदस्यता")
    db.session.flush()
    assert app.test_client().get(f"/card/{token}.png").status_code == 404


def test_card_links_are_rate_limited(make_app, units):
    app = make_app(RATELIMIT_ENABLED=True, CARD_RATE_LIMIT="2/hour")
    with app.test_request_context():
        client = app.test_client()
        codes = [client.get("/card/not-a-token.png").status_code for _ in range(3)]
    assert codes == [404, 404, 429]


def test_the_checker_page_may_use_the_camera_and_names_nobody(app, member):
    cards.issue(member)
    client = app.test_client()
    page = client.get("/check", headers={"Cookie": "lang=hi"})
    assert page.status_code == 200
    assert "camera=(self)" in page.headers["Permissions-Policy"]
    assert "सदस्यता कार्ड की जाँच करें" in page.get_data(as_text=True)
    assert "<script>" not in page.get_data(as_text=True)
    assert "camera=()" in client.get("/check/revoked.json").headers["Permissions-Policy"]
    listing = client.get("/check/revoked.json").get_data(as_text=True)
    assert "प्रियंका" not in listing and "CG0" not in listing
    worker = client.get("/check-sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"


def test_staff_download_the_card_of_members_in_their_units_only(app, member, staff, browser):
    url = f"/members/{member.id}/card.pdf"
    inside = browser(staff["bilha"])
    answer = inside.get(url)
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")
    assert "attachment" in answer.headers["Content-Disposition"]
    details = inside.get(f"/admin/members/details/?id={member.id}").get_data(as_text=True)
    assert url in details
    outside = browser(staff["masturi"])
    assert outside.get(url).status_code == 404
    assert outside.get("/members/999999/card.pdf").status_code == 404
    assert app.test_client().get(url).status_code in (302, 401)  # no login, no card


def test_a_revocation_reaches_the_list_within_the_configured_time(app, member, staff):
    card, _statement = cards.issue(member)
    db.session.commit()
    client = app.test_client()

    def listed(answer):
        return json.loads(cards.unb64u(answer.get_json()["list"]))["revoked"]

    first = client.get("/check/revoked.json")
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert "public" in first.headers["Cache-Control"] and first.headers["Last-Modified"]
    assert card.card_id not in listed(first)
    workflow.apply(staff["district"], "revoke", [member.id], reason="दोहरी सदस्यता")
    db.session.commit()
    kept = client.get("/check/revoked.json", headers={"If-None-Match": first.headers["ETag"]})
    assert kept.status_code == 304 and not kept.data  # the kept list, for a while
    app.config["CHECK_REVOKED_SECONDS"] = 0  # that time has passed
    fresh = client.get("/check/revoked.json", headers={"If-None-Match": first.headers["ETag"]})
    assert fresh.status_code == 200 and card.card_id in listed(fresh)
    assert fresh.headers["ETag"] != first.headers["ETag"]
    signed = fresh.get_json()
    public = cards.signing_key().public_key()
    public.verify(cards.unb64u(signed["sig"]),
                  cards.REVOKED_CONTEXT + cards.unb64u(signed["list"]))
