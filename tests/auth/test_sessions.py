"""Sessions: bound to the account (not to the address), cleared at logout; signed values
keyed per purpose, and the /join time stamp expires."""

import re
from pathlib import Path

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from backoffice import keys
from backoffice.extensions import db
from backoffice.models import Member
from tests import factories
from tests.test_join import DETAILS

BACKOFFICE = Path(__file__).resolve().parents[2] / "backoffice"


def log_in(b, user, address):
    b.client.environ_base["REMOTE_ADDR"] = address
    response = b.post("/login", {"login": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302 and "/login" not in response.headers["Location"]


def test_a_new_network_address_keeps_the_enroller_logged_in(app, browser, staff):
    b = browser()
    log_in(b, staff["enroller"], "100.64.12.7")
    for address in ("100.71.3.200", "2401:4900:1c5a::17", "10.0.0.9"):  # CGNAT, IPv6, Wi-Fi
        b.client.environ_base["REMOTE_ADDR"] = address
        assert b.get("/admin/members/").status_code == 200, address


def test_the_account_still_ends_its_sessions_whatever_the_address(app, browser, staff):
    b = browser()
    log_in(b, staff["enroller"], "100.64.12.7")
    b.client.environ_base["REMOTE_ADDR"] = "100.71.3.200"
    staff["enroller"].session_version += 1  # a password change elsewhere
    db.session.flush()
    assert b.get("/admin/members/").status_code == 302


def test_logout_clears_the_whole_session(app, browser, staff):
    b = browser(staff["bilha"])
    with b.client.session_transaction() as before:
        before["audit_sid"] = "a-login-reference"
        before["lang"] = "hi"
    b.post("/logout", token_from="/admin/")
    with b.client.session_transaction() as after:
        assert set(after) <= {"_flashes"}, dict(after)
    assert b.get("/admin/").status_code == 302


def test_join_time_stamps_expire_and_the_form_is_shown_again(app, browser, units):
    app.config["JOIN_MIN_SECONDS"] = 0
    b = browser()
    page = b.get("/join").get_data(as_text=True)
    started = re.search(r'name="started" type="hidden" value="([^"]*)"', page).group(1)
    app.config["JOIN_FORM_MAX_SECONDS"] = -1  # as if served longer ago than allowed
    response = b.post("/join", DETAILS | {"block_id": units["BLK-KOTA"].id,
                                          "started": started}, token_from="/join")
    assert response.status_code == 200
    assert "open too long" in response.get_data(as_text=True)
    fresh = re.search(r'name="started" type="hidden" value="([^"]*)"',
                      response.get_data(as_text=True)).group(1)
    assert fresh != started
    assert db.session.scalar(select(func.count()).select_from(Member)) == 0


def test_a_stamp_signed_for_another_purpose_is_not_a_join_stamp(app, browser, units):
    app.config["JOIN_MIN_SECONDS"] = 0
    with app.test_request_context():
        other = URLSafeTimedSerializer(app.config["SECRET_KEY"]).dumps(0.0)  # unsalted
        csrf_like = keys.serializer("something-else").dumps(0.0)
    for forged in (other, csrf_like):
        response = browser().post("/join", DETAILS | {"block_id": units["BLK-KOTA"].id,
                                                      "started": forged}, token_from="/join")
        assert response.headers["Location"] == "/join/verify"  # the answer bots get
    assert db.session.scalar(select(func.count()).select_from(Member)) == 0


def test_purposes_get_keys_of_their_own(app):
    with app.test_request_context():
        assert keys.derived_key("a") != keys.derived_key("b")
        assert keys.derived_key("a") != app.config["SECRET_KEY"].encode()


def test_only_the_keys_module_reads_the_secret_key():
    """Every signer and keyed hash goes through backoffice.keys, so none shares a key
    with another purpose. The audit log derives its own key (with its own label, and
    AUDIT_HMAC_KEY may replace SECRET_KEY there); settings checks the key is set."""
    allowed = {"keys.py", "settings.py", "audit/events.py"}
    readers = {str(path.relative_to(BACKOFFICE)) for path in BACKOFFICE.rglob("*.py")
               if "SECRET_KEY" in path.read_text(encoding="utf-8")
               and "migrations" not in path.parts}
    assert readers <= allowed, sorted(readers - allowed)
