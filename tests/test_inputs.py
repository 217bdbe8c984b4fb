"""The request check (backoffice/inputs.py) and the error pages (backoffice/errors.py)."""

import pytest
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import StaffUser, Unit

REFUSED_HI = "भेजी गई जानकारी में ऐसे अक्षर हैं"
REFUSED_EN = "What was sent contains characters this site cannot take"


@pytest.mark.parametrize("value", ["a\x00b", "a\x1bb", "a\x7fb", "x" * 10_001])
def test_a_refused_form_value_gets_400_in_the_users_language_and_saves_nothing(
        app, browser, staff, value):
    b = browser(staff["state"], lang="hi")
    token = b.csrf_token("/admin/")
    response = b.client.post("/admin/units/new/", data={
        "csrf_token": token, "code": "NUL-1", "name_en": value, "name_hi": "नाम",
        "level": "block", "parent_id": "1"})
    assert response.status_code == 400
    assert REFUSED_HI in response.get_data(as_text=True)
    assert '<html lang="hi">' in response.get_data(as_text=True)
    assert db.session.scalar(select(Unit).where(Unit.code == "NUL-1")) is None


@pytest.mark.parametrize("query", ["search=a%00b", "search=%ff%fe", "search=%ed%a0%80",
                                   "x%00=1", "page=1&search=" + "x" * 10_001])
def test_a_refused_query_argument_gets_400(app, browser, staff, query):
    response = browser(staff["state"]).get("/admin/members/", query_string=query)
    assert response.status_code == 400
    assert REFUSED_EN in response.get_data(as_text=True)


def test_a_refused_value_is_refused_before_the_csrf_check_and_on_public_pages(app, browser):
    for url in ("/login", "/join", "/language"):
        for body in ({"login": "a\x00"}, "login=%ff%fe", "next=%ed%a0%80"):
            response = browser().client.post(
                url, data=body, content_type="application/x-www-form-urlencoded")
            assert response.status_code == 400, (url, body)
            assert REFUSED_EN in response.get_data(as_text=True), (url, body)


def test_a_nul_in_a_cookie_is_refused(app, browser):
    b = browser()
    b.client.set_cookie("lang", "en\x00")
    assert b.get("/login").status_code == 400


def test_tabs_line_breaks_and_every_script_pass(app, browser, staff):
    """What people type: Devanagari, Urdu with its direction marks, lines of an address."""
    b = browser(staff["state"])
    for search in ("सुनीता", "\u200fعلی\u200f", "Ram\tLal", "गाँव\r\nबिल्हा", "x" * 10_000):
        assert b.get("/admin/members/", query_string={"search": search}).status_code == 200


def test_a_forged_client_address_behind_the_proxy_is_refused(make_app):
    app = make_app(PROXY_COUNT=1)
    client = app.test_client()
    assert client.get("/login", headers={"X-Forwarded-For": "not-an-address"}).status_code == 400
    assert client.get("/login", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200


def test_a_malformed_host_gets_a_400_page_not_a_crash(app, browser):
    """The layout cannot be drawn without a URL adapter: the bare page, still in Hindi."""
    for host in ("x" * 300, "a" * 64 + ".example"):
        response = browser(lang=None).get("/login", headers={"Host": host})
        assert response.status_code == 400, host
        assert "अनुरोध समझा नहीं जा सका" in response.get_data(as_text=True)


def test_a_missing_csrf_token_gets_400_in_hindi(app, browser, staff):
    response = browser(staff["state"], lang="hi").client.post("/admin/targets/",
                                                               data={"target": "5"})
    assert response.status_code == 400
    assert '<html lang="hi">' in response.get_data(as_text=True)


def test_the_500_page_tells_nothing_of_the_fault(app, browser):
    @app.route("/boom")
    def boom():
        db.session.get(StaffUser, 1)
        raise RuntimeError("secret detail: postgresql://user:pw@db/x")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = browser(lang="hi").get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret" not in page and "RuntimeError" not in page and "Traceback" not in page
    assert '<html lang="hi">' in page


@pytest.mark.parametrize(("method", "code"), [("GET", 404), ("DELETE", 405)])
def test_404_and_405_pages_come_in_both_languages(app, browser, method, code):
    for lang, words in (("hi", "<html lang=\"hi\">"), ("en", "<html lang=\"en\">")):
        path = "/no-such-page" if code == 404 else "/login"
        response = browser(lang=lang).client.open(path, method=method)
        assert response.status_code == code
        assert words in response.get_data(as_text=True)
