from backoffice.extensions import db
from tests import factories


def login(browser, login, password, next_url=""):
    return browser.post("/login", {"login": login, "password": password, "next": next_url})


def test_login_by_email_or_by_mobile_in_any_format(app, browser):
    factories.StaffFactory(email="anita@example.test", mobile="+919812345678")
    for name in ("anita@example.test", "ANITA@example.test", "098123 45678", "+91 98123 45678"):
        b = browser()
        response = login(b, name, factories.PASSWORD)
        assert response.status_code == 302, name
        assert response.headers["Location"].endswith("/admin/")


def test_wrong_password_and_unknown_user_get_the_same_message(app, browser):
    factories.StaffFactory(email="anita@example.test")
    wrong = login(browser(), "anita@example.test", "nope").get_data(as_text=True)
    unknown = login(browser(), "nobody@example.test", "nope").get_data(as_text=True)
    assert "The login name or password is wrong." in wrong
    assert "The login name or password is wrong." in unknown


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(app, browser):
    user = factories.StaffFactory(email="anita@example.test")
    b = browser()
    for _ in range(5):
        login(b, "anita@example.test", "wrong")
    page = login(b, "anita@example.test", factories.PASSWORD).get_data(as_text=True)
    assert "locked for 15 more minutes" in page
    db.session.refresh(user)  # the request ran in its own session
    assert user.locked_until is not None


def test_inactive_staff_cannot_log_in(app, browser):
    factories.StaffFactory(email="gone@example.test", active=False)
    page = login(browser(), "gone@example.test", factories.PASSWORD).get_data(as_text=True)
    assert "The login name or password is wrong." in page


def test_next_goes_only_to_paths_on_this_site(app, browser):
    factories.StaffFactory(email="anita@example.test")
    for evil in ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]:
        response = login(browser(), "anita@example.test", factories.PASSWORD, evil)
        assert response.headers["Location"] == "/admin/", evil
    response = login(browser(), "anita@example.test", factories.PASSWORD, "/admin/members/")
    assert response.headers["Location"] == "/admin/members/"


def test_login_without_csrf_token_is_refused(app, browser):
    factories.StaffFactory(email="anita@example.test")
    response = browser().client.post(
        "/login", data={"login": "anita@example.test", "password": factories.PASSWORD})
    assert response.status_code == 400


def test_logout_is_a_post_with_csrf_and_ends_the_session(app, browser, staff):
    b = browser(staff["bilha"])
    assert b.get("/admin/").status_code == 200
    assert b.client.post("/logout").status_code == 400  # no token
    assert b.client.get("/logout").status_code == 405
    b.post("/logout", token_from="/admin/")
    assert b.get("/admin/").status_code == 302


def test_password_change_ends_every_session(app, browser, staff):
    b = browser(staff["bilha"])
    assert b.get("/admin/").status_code == 200
    staff["bilha"].session_version += 1
    db.session.flush()
    assert b.get("/admin/").status_code == 302
