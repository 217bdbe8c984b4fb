"""Public self-enrolment at /join."""

import re

import pytest
from sqlalchemy import func, select

from backoffice import sms
from backoffice.extensions import db
from backoffice.models import Member
from tests import factories

DETAILS = {"full_name": "कविता   यादव", "relation": "husband", "relative_name": "राजेश यादव",
           "gender": "female", "date_of_birth": "1991-02-03", "mobile": "98765 43210",
           "epic": "", "address": "ग्राम कोटा", "booth_no": "8", "consent": "y", "website": ""}


@pytest.fixture
def join_app(app):
    app.config["JOIN_MIN_SECONDS"] = 0  # the tests type fast
    return app


def fill(b, units, **overrides):
    page = b.get("/join").get_data(as_text=True)
    started = re.search(r'name="started" type="hidden" value="([^"]*)"', page).group(1)
    data = DETAILS | {"block_id": units["BLK-KOTA"].id, "started": started} | overrides
    return b.post("/join", data, token_from="/join")


def members() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Member))


def test_join_page_is_hindi_by_default_and_small_screen_ready(join_app, browser, units):
    page = browser(lang=None).get("/join").get_data(as_text=True)
    assert '<html lang="hi">' in page and 'name="viewport"' in page
    assert "कोटा" in page  # blocks are named in Hindi
    english = browser(lang="en").get("/join").get_data(as_text=True)
    assert "Become a member" in english


def test_a_person_joins_and_verifies_their_own_phone(join_app, browser, units):
    b = browser()
    response = fill(b, units)
    assert response.headers["Location"] == "/join/verify"
    member = db.session.scalar(select(Member))
    assert (member.channel, member.recorded_by_id, member.status) == ("self", None, "recorded")
    assert member.full_name == "कविता यादव" and member.consent_notice_version
    with join_app.app_context():
        code = sms.gateway().last_code_for("+919876543210")
    done = b.post("/join/verify", {"code": code}, token_from="/join/verify")
    assert "Your phone number is verified" in done.get_data(as_text=True)
    db.session.refresh(member)
    assert member.status == "phone_verified"


def test_bad_details_are_explained_and_nothing_is_saved(join_app, browser, units):
    page = fill(browser(), units, mobile="011 2345 6789").get_data(as_text=True)
    assert "not a mobile number" in page
    page = fill(browser(), units, consent="").get_data(as_text=True)
    assert "Agree to the privacy notice" in page
    assert members() == 0


@pytest.mark.parametrize("trap", [{"website": "http://spam.example"}, {"started": "forged"}])
def test_bots_get_the_normal_answer_and_nothing_happens(join_app, browser, units, trap):
    response = fill(browser(), units, **trap)
    assert response.headers["Location"] == "/join/verify"
    assert members() == 0
    with join_app.app_context():
        assert sms.gateway().last_code_for("+919876543210") is None


def test_too_fast_to_be_a_person(join_app, browser, units):
    join_app.config["JOIN_MIN_SECONDS"] = 60
    fill(browser(), units)
    assert members() == 0


def test_the_answer_is_the_same_whether_or_not_the_voter_id_is_registered(
        join_app, browser, units):
    with join_app.test_request_context():
        factories.member(units["BLK-BILHA"], epic="ABC1234567")
    before = members()
    taken = fill(browser(), units, epic="ABC1234567", mobile="9812345678")
    fresh = fill(browser(), units, epic="XYZ7654321", mobile="9812345679")
    assert taken.status_code == fresh.status_code == 302
    assert taken.headers["Location"] == fresh.headers["Location"]
    taken_page = browser().client.get("/join/verify")  # no session: back to the form
    assert taken_page.status_code == 302
    assert members() == before + 1  # only the new voter ID became a member


def test_joining_is_throttled_per_address(make_app):
    # No fixtures that hold the test's transaction open: on SQLite this app's
    # POSTs take the write lock at BEGIN (docs/sqlite.md) and would wait for it.
    from tests.conftest import Browser

    app = make_app(RATELIMIT_ENABLED=True, JOIN_RATE_LIMIT="2/hour", JOIN_MIN_SECONDS=0)
    b = Browser(app)
    codes = [b.post("/join", {"full_name": ""}, token_from="/join").status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
