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


def _observed(app, response) -> dict:
    """Everything a visitor sees of one answer, random tokens reduced to their shape, and
    the number the person typed (shown back to them alone) to its masked shape."""
    body = re.sub(r'(name="csrf_token"( type="hidden")? value=")[^"]+', r"\1<csrf>",
                  response.get_data(as_text=True))
    body = re.sub(r'(<strong id="number" translate="no">)\+91 \d\d•{4}\d{4}<', r"\1<number><",
                  body)
    cookies = []
    for header in response.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        value, _, attributes = rest.partition(";")
        contents = app.session_interface.get_signing_serializer(app).loads(value) \
            if name == app.config["SESSION_COOKIE_NAME"] and value else {}
        shape = {key: item if key == "_flashes" else (type(item).__name__, len(str(item)))
                 for key, item in contents.items()}
        cookies.append((name, attributes.strip(), shape))  # its length varies with zlib
    body = re.sub(r'nonce="[^"]+"', 'nonce="<nonce>"', body)  # fresh per answer
    headers = sorted((key, _id_shape(value) if key == "X-Request-ID" else
                      re.sub(r"'nonce-[^']+'", "'nonce-<nonce>'", value))
                     for key, value in response.headers.items()
                     if key not in ("Set-Cookie", "Date"))
    return {"status": response.status_code, "headers": headers, "body": body,
            "cookies": cookies}


_SECONDS = re.compile(r"(\d+) (seconds|सेकंड)")


def _assert_alike(new: list[dict], refused: list[dict]) -> None:
    """Step by step the same, but for waits in seconds a second apart: each walk's
    steps take their own time (on a busy machine more than a second), so a wait
    read a moment later may show one second less, whichever signup it is."""
    for step, (mine, theirs) in enumerate(zip(new, refused, strict=True)):
        mine_text, theirs_text = repr(mine), repr(theirs)
        mine_waits = [int(n) for n, _unit in _SECONDS.findall(mine_text)]
        theirs_waits = [int(n) for n, _unit in _SECONDS.findall(theirs_text)]
        assert _SECONDS.sub(r"<n> \2", mine_text) == _SECONDS.sub(r"<n> \2", theirs_text), \
            f"step {step} differs"
        assert all(abs(a - b) <= 1 for a, b in zip(mine_waits, theirs_waits, strict=True)), \
            f"step {step}: waits {mine_waits} and {theirs_waits}"


def _id_shape(request_id: str) -> str:
    """Every response's random request id, as its shape (a fresh id tells nothing)."""
    return "<request id>" if re.fullmatch(r"[0-9a-f]{32}", request_id) else request_id


def _walk(app, b, units, corrected=None, **details) -> list[dict]:
    """Join, then try the code step the way someone probing the page would; then
    correct the number, and try again."""
    seen = [_observed(app, fill(b, units, **details))]
    seen.append(_observed(app, b.get("/join/verify")))
    token = b.csrf_token("/join/verify")
    steps = [("/join/verify", {"code": "000000"}), ("/join/verify", {"resend": "1", "code": ""})]
    steps += [("/join/verify", {"code": "000000"})] * 5
    if corrected:
        steps += [("/join/number", {"mobile": "12345"}), ("/join/number", {"mobile": corrected}),
                  ("/join/verify", {"code": "000000"}),
                  ("/join/verify", {"resend": "1", "code": ""})]
    for url, step in steps:
        seen.append(_observed(app, b.client.post(url, data=step | {"csrf_token": token})))
        seen.append(_observed(app, b.get("/join/verify")))  # shows the flashed answer
    return seen


@pytest.mark.parametrize("refusal", ["epic_taken", "phone_full"])
def test_a_refused_signup_looks_exactly_like_a_new_one(join_app, browser, units, refusal):
    """Body, status, headers, cookie contents, tries left, cooldowns and the phone's wait:
    the same sequence of answers whether the signup made a member or was refused."""
    join_app.config["MAX_MEMBERS_PER_PHONE"] = 2
    with join_app.test_request_context():
        factories.member(units["BLK-BILHA"], epic="ABC1234567", mobile="+919812345600")
        for _ in range(2):
            factories.member(units["BLK-BILHA"], mobile="+919812345601")
    taken = {"epic_taken": {"epic": "ABC1234567", "mobile": "9812345602"},
             "phone_full": {"epic": "", "mobile": "9812345601"}}[refusal]
    before = members()
    new = _walk(join_app, browser(), units, "9812345604", epic="XYZ7654321", mobile="9812345603")
    refused = _walk(join_app, browser(), units, "9812345605", **taken)
    assert members() == before + 1
    with join_app.app_context():
        assert sorted(m.phone for m in sms.gateway().outbox) == ["+919812345603", "+919812345604"]
    flashes = [c[2].get("_flashes") for step in new for c in step["cookies"]]
    assert [("success", "We have sent a code by SMS to your mobile. It is valid for 10 "
             "minutes.")] in flashes
    assert [("error", "The code is wrong. 4 tries left.")] in flashes
    assert [("error", "Wait 30 seconds before asking for another code.")] in flashes
    assert any(f and f[0][1].startswith("Too many wrong codes for this number")
               for f in flashes)
    _assert_alike(new, refused)


def test_a_refused_signup_is_held_as_long_as_a_new_one_usually_takes(monkeypatch):
    """The time of an answer must not tell either: a refused signup's step waits out
    the median of recent new signups' (no clock in the assertion: sleep is recorded)."""
    import time

    from backoffice.services import signups

    slept = []
    monkeypatch.setattr(signups.time, "sleep", slept.append)
    pace = signups.Pace()
    for seconds in (0.5, 0.4, 0.6, 9.0):  # one slow outlier does not move the median much
        pace.keep("join", True, time.perf_counter() - seconds)
    assert slept == []  # a new signup is never held
    pace.keep("join", False, time.perf_counter() - 0.1)
    assert len(slept) == 1 and 0.4 < slept[0] < 0.5
    pace.keep("check", False, time.perf_counter())  # nothing learnt for this step yet
    assert slept[1] == 0.0


def test_during_an_sms_outage_a_refused_signup_answers_as_a_new_one(join_app, browser, units,
                                                                   monkeypatch):
    """The gateway down: a new signup's send fails, and a refused one's stand-in says
    the same, with the same counts, instead of "sent"."""
    from backoffice.sms.console import MemoryGateway

    def down(self, phone, code, text, locale):
        raise sms.GatewayError("unavailable", "timeout")

    monkeypatch.setattr(MemoryGateway, "send_code", down)
    with join_app.test_request_context():
        factories.member(units["BLK-BILHA"], epic="ABC1234567", mobile="+919812345600")
    new = _walk(join_app, browser(), units, epic="XYZ7654321", mobile="9812345603")
    refused = _walk(join_app, browser(), units, epic="ABC1234567", mobile="9812345602")
    flashes = [c[2].get("_flashes") for step in new for c in step["cookies"]]
    assert any(f and f[0][1].startswith("We could not send the SMS just now") for f in flashes)
    _assert_alike(new, refused)


def test_a_gateway_that_answers_again_ends_the_outage(app):
    from backoffice.sms.health import GatewayHealth

    now = [0.0]
    health = GatewayHealth(clock=lambda: now[0])
    health.record("blocked")  # one number's trouble is not an outage
    assert health.outage(120) is None
    health.record("unavailable")
    assert health.outage(120) == "unavailable"
    now[0] = 121.0
    assert health.outage(120) is None  # too long ago to say
    health.record("misconfigured")
    health.record(None)  # a send went through
    assert health.outage(120) is None


def test_the_code_page_shows_the_number_masked_and_takes_a_corrected_one(
        join_app, browser, units):
    b = browser()
    fill(b, units, mobile="98765 43201")  # the person meant 98765 43210
    page = b.get("/join/verify").get_data(as_text=True)
    assert "+91 98••••3201" in page and "9876543201" not in page
    assert "Wrong number? Correct it" in page
    b.post("/join/number", {"mobile": "98765 43210"}, token_from="/join/verify")
    page = b.get("/join/verify").get_data(as_text=True)
    assert "+91 98••••3210" in page and "We have sent a code" in page
    member = db.session.scalar(select(Member))
    assert member.mobile == "+919876543210"
    with join_app.app_context():
        code = sms.gateway().last_code_for("+919876543210")
    done = b.post("/join/verify", {"code": code}, token_from="/join/verify")
    assert done.status_code == 200


def test_a_number_that_is_not_a_mobile_is_refused_on_correction(join_app, browser, units):
    b = browser()
    fill(b, units)
    b.post("/join/number", {"mobile": "011 2345 6789"}, token_from="/join/verify")
    page = b.get("/join/verify").get_data(as_text=True)
    assert "not a mobile number" in page and "+91 98••••3210" in page


def test_success_gives_the_membership_number_the_next_step_and_the_helpline(
        join_app, browser, units):
    from backoffice.services.membership_numbers import format_membership_no

    join_app.config["JOIN_HELPLINE"] = "1800 123 4567"
    b = browser()
    assert "1800 123 4567" in b.get("/join").get_data(as_text=True)
    fill(b, units)
    with join_app.app_context():
        code = sms.gateway().last_code_for("+919876543210")
    assert 'href="tel:18001234567"' in b.get("/join/verify").get_data(as_text=True)
    done = b.post("/join/verify", {"code": code}, token_from="/join/verify")
    page = done.get_data(as_text=True)
    member = db.session.scalar(select(Member))
    with join_app.test_request_context():
        number = format_membership_no(member.id)
    assert f'<strong class="h3" id="membership-no" translate="no">{number}</strong>' in page
    assert "What happens next" in page and "1800 123 4567" in page


def test_without_a_helpline_none_is_shown(join_app, browser, units):
    assert 'id="helpline"' not in browser().get("/join").get_data(as_text=True)
