"""Two-step login (TOTP) and password change."""

import re

import pyotp
import pytest

from backoffice.extensions import db
from tests import factories


def password_step(b, user, password=factories.PASSWORD):
    return b.post("/login", {"login": user.email, "password": password})


def test_state_admin_without_totp_must_enrol_before_any_admin_page(app, browser, units):
    admin = factories.staff_with_role("state_admin", units["CG"])
    b = browser()
    response = password_step(b, admin)
    assert "/account/second-factor" in response.headers["Location"]
    assert "/account/second-factor" in b.get("/admin/members/").headers["Location"]
    page = b.get("/account/second-factor").get_data(as_text=True)
    assert "<svg" in page  # the QR code, drawn inline
    secret = re.search(r'<code class="user-select-all">([A-Z2-7]+)</code>', page).group(1)
    token = b.csrf_token("/account/second-factor")
    wrong = b.client.post("/account/second-factor", data={"code": "000000", "csrf_token": token})
    assert "The code is wrong" in wrong.get_data(as_text=True)
    ok = b.client.post("/account/second-factor",
                       data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert ok.status_code == 302
    assert b.get("/admin/members/").status_code == 200
    db.session.refresh(admin)
    assert admin.totp_enabled and admin.totp_secret == secret


@pytest.fixture
def enrolled(units):
    user = factories.staff_with_role("returning_officer", units["DIST-BILASPUR"],
                                     totp_secret=pyotp.random_base32(), totp_enabled=True)
    return user


def test_enrolled_user_needs_the_current_code_after_the_password(app, browser, enrolled):
    b = browser()
    response = password_step(b, enrolled)
    assert response.headers["Location"].endswith("/login/code")
    assert b.get("/admin/").status_code == 302  # not logged in yet
    token = b.csrf_token("/login/code")
    for bad in ["123456", "१२३४५६", "12345", "abcdef", ""]:
        page = b.client.post("/login/code", data={"code": bad, "csrf_token": token})
        assert page.status_code == 200
    code = pyotp.TOTP(enrolled.totp_secret).now()
    response = b.client.post("/login/code", data={"code": code, "csrf_token": token})
    assert response.headers["Location"] == "/admin/"
    assert b.get("/admin/").status_code == 200


def test_a_totp_code_works_once(app, browser, enrolled):
    code = pyotp.TOTP(enrolled.totp_secret).now()
    first = browser()
    password_step(first, enrolled)
    first.post("/login/code", {"code": code}, token_from="/login/code")
    assert first.get("/admin/").status_code == 200
    second = browser()
    password_step(second, enrolled)
    page = second.post("/login/code", {"code": code}, token_from="/login/code")
    assert "already used" in page.get_data(as_text=True)
    assert second.get("/admin/").status_code == 302


def test_code_page_without_a_password_step_goes_back_to_login(app, browser):
    response = browser().get("/login/code")
    assert response.headers["Location"] == "/login"


def test_wrong_codes_count_towards_the_lockout(app, browser, enrolled):
    b = browser()
    password_step(b, enrolled)
    for _ in range(5):
        b.post("/login/code", {"code": "000000"}, token_from="/login/code")
    page = b.post("/login/code", {"code": pyotp.TOTP(enrolled.totp_secret).now()},
                  token_from="/login/code").get_data(as_text=True)
    assert "Try again later" in page


def test_password_change_keeps_this_browser_and_ends_the_others(app, browser, staff):
    user = staff["bilha"]
    here, elsewhere = browser(user), browser(user)
    assert elsewhere.get("/admin/").status_code == 200
    short = here.post("/account/password", {"current": factories.PASSWORD, "new": "short",
                                            "confirm": "short"}, token_from="/account/password")
    assert "at least 10" in short.get_data(as_text=True)
    wrong = here.post("/account/password", {"current": "nope", "new": "a new long password",
                                            "confirm": "a new long password"},
                      token_from="/account/password")
    assert "current password is wrong" in wrong.get_data(as_text=True)
    here.post("/account/password", {"current": factories.PASSWORD, "new": "a new long password",
                                    "confirm": "a new long password"},
              token_from="/account/password")
    assert here.get("/admin/").status_code == 200
    assert elsewhere.get("/admin/").status_code == 302
    fresh = browser()
    assert password_step(fresh, user, "a new long password").status_code == 302
