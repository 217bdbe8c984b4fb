"""Security headers on every response: a plain page, a Flask-Admin list, an error page,
the photo page's camera, HSTS only in production over https (docs/security-headers.md)."""

import re

import pytest

from backoffice.security import CAMERA_HERE, PERMISSIONS_POLICY
from tests import factories

NONCE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{22})'")
#: a tag with an inline event handler (onclick=...), or a javascript: URL other than the
#: inert "javascript:void(0)" links Flask-Admin draws (static/js/admin-csp.js)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def assert_secured(answer) -> str:
    """The headers every response carries; returns the response's nonce."""
    headers = answer.headers
    policy = headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'self'",
                      "form-action 'self'", "frame-ancestors 'none'"):
        assert directive in policy, (directive, policy)
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "'unsafe-eval'" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert "geolocation=()" in headers["Permissions-Policy"]
    assert "microphone=()" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers  # development, plain http
    match = NONCE.search(policy)
    assert match, policy
    return match.group(1)


def assert_no_inline_script(html: str, nonce: str) -> None:
    """No inline event handler, and every script either a file or carrying the nonce."""
    assert not INLINE_HANDLER.search(html), INLINE_HANDLER.search(html).group(0)
    for attributes in SCRIPT_TAG.findall(html):
        assert "src=" in attributes or f'nonce="{nonce}"' in attributes, attributes


def test_the_login_page_carries_the_headers_and_a_fresh_nonce_each_time(app, browser):
    client = browser().client
    first, second = client.get("/login"), client.get("/login")
    assert first.status_code == 200
    assert assert_secured(first) != assert_secured(second)  # a nonce per response


@pytest.mark.parametrize(("who", "url"), [
    ("district", "/admin/members/"), ("bilha", "/admin/queue/"), ("district", "/admin/roles/"),
    ("district", "/admin/audit/"), ("district", "/admin/"), ("enroller", "/admin/members/new/"),
])
def test_flask_admin_pages_carry_the_headers_and_no_inline_script(app, browser, staff, units,
                                                                  who, url):
    with app.test_request_context():
        factories.member(units["BLK-BILHA"])
    answer = browser(staff[who]).get(url)
    assert answer.status_code == 200, url
    nonce = assert_secured(answer)
    html = answer.get_data(as_text=True)
    assert_no_inline_script(html, nonce)
    assert f'nonce="{nonce}"' in html  # Flask-Admin's own script tags carry this nonce
    assert "js/admin-csp.js" in html



def test_details_edit_and_create_forms_have_no_inline_script(app, browser, staff, units):
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"])
    pages = [("bilha", f"/admin/members/details/?id={member.id}"),
             ("bilha", f"/admin/members/edit/?id={member.id}"),
             ("district", "/admin/staff/new/"), ("district", "/admin/roles/new/"),
             ("ro", "/admin/rolls/new/"), ("state", "/admin/targets/")]
    for who, url in pages:
        answer = browser(staff[who]).get(url)
        assert answer.status_code == 200, url
        assert_no_inline_script(answer.get_data(as_text=True), assert_secured(answer))

def test_list_actions_and_deletes_work_without_inline_handlers(app, browser, staff, units):
    """The queue's "With selected" actions and a role's delete button: the attributes
    static/js/admin-csp.js acts on, where Flask-Admin had onclick."""
    with app.test_request_context():
        factories.member(units["BLK-BILHA"])
    queue = browser(staff["bilha"]).get("/admin/queue/").get_data(as_text=True)
    assert 'data-model-action="approve"' in queue and "modelActions.execute" not in queue
    roles = browser(staff["district"]).get("/admin/roles/").get_data(as_text=True)
    assert "data-confirm=" in roles and "safeConfirm" not in roles


@pytest.mark.parametrize(("url", "status"), [
    ("/no-such-page", 404), ("/admin/no-such-view/", 404),
    ("/admin/queue/", 403),  # a district head has no approval queue
])
def test_error_pages_carry_the_headers(app, browser, staff, url, status):
    answer = browser(staff["district"]).get(url)
    assert answer.status_code == status
    assert_secured(answer)


def test_a_413_page_answered_before_any_view_carries_the_headers(app, browser):
    answer = browser().client.post("/login", data=b"x" * 2_000_000,
                                   content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 413
    assert_secured(answer)


def test_a_500_page_carries_the_headers(app, browser):
    @app.route("/boom-for-the-test")
    def boom():
        raise RuntimeError("a bug")

    answer = browser().client.get("/boom-for-the-test")
    assert answer.status_code == 500
    assert_secured(answer)


def test_only_the_photo_page_may_use_the_camera(app, browser, staff, units):
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"])
    enroller = browser(staff["enroller"])
    photo_page = enroller.get(f"/admin/members/verify/?id={member.id}")
    assert photo_page.status_code == 200
    assert 'capture="environment"' in photo_page.get_data(as_text=True)
    assert photo_page.headers["Permissions-Policy"] == CAMERA_HERE
    assert "camera=(self)" in CAMERA_HERE and "microphone=()" in CAMERA_HERE
    details = enroller.get(f"/admin/members/details/?id={member.id}")
    assert details.headers["Permissions-Policy"] == PERMISSIONS_POLICY


def test_polling_pages_name_their_script_not_an_inline_one(app, browser, staff):
    page = browser(staff["district"]).get("/admin/members/exports/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "js/poll.js" in html
    assert_no_inline_script(html, assert_secured(page))


def test_hsts_only_in_production_over_https_and_never_a_redirect(app, browser):
    client = browser().client
    over_https = client.get("/login", base_url="https://localhost")
    assert over_https.status_code == 200
    assert "Strict-Transport-Security" not in over_https.headers  # development
    assert client.get("/login").status_code == 200  # plain http: served, not redirected

    app.config["ENV"] = "production"
    over_https = client.get("/login", base_url="https://localhost")
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = client.get("/login")
    assert plain.status_code == 200 and "Strict-Transport-Security" not in plain.headers
    # A client's own X-Forwarded-Proto is not believed without trusted proxies
    spoofed = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers



def test_hsts_behind_the_trusted_proxy_follows_its_forwarded_scheme(make_app):
    proxied = make_app(PROXY_COUNT=1)
    proxied.config["ENV"] = "production"
    client = proxied.test_client()
    https = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert https.status_code == 200
    assert https.headers["Strict-Transport-Security"] == "max-age=31536000"
    http = client.get("/login", headers={"X-Forwarded-Proto": "http"})
    assert http.status_code == 200 and "Strict-Transport-Security" not in http.headers

MENU_LINK = re.compile(r'href="(/(?:admin|account)/[^"#?]*)"')


@pytest.mark.parametrize("who", ["state", "district", "bilha", "enroller", "ro"])
def test_every_page_in_the_menu_has_no_inline_script(app, browser, staff, units, who):
    """Each page a role's dashboard links to (the menu, the account's password and
    two-step login pages): the headers, and no inline handler or script without the
    nonce (a template added later is held to the same rule)."""
    with app.test_request_context():
        factories.member(units["BLK-BILHA"])
    user = browser(staff[who])
    links = sorted(set(MENU_LINK.findall(user.get("/admin/").get_data(as_text=True))))
    assert len(links) > 3, links
    for url in links:
        answer = user.get(url)
        if answer.status_code != 200:  # a link to a download or a step elsewhere
            continue
        nonce = assert_secured(answer)
        if answer.mimetype == "text/html":
            assert_no_inline_script(answer.get_data(as_text=True), nonce)


@pytest.mark.parametrize("url", ["/login", "/join", "/privacy"])
def test_public_pages_have_no_inline_script(app, browser, url):
    answer = browser().client.get(url, follow_redirects=True)
    assert answer.status_code == 200
    assert_no_inline_script(answer.get_data(as_text=True), assert_secured(answer))
