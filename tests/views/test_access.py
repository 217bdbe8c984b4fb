"""Every registered admin view: anonymous users go to login, users without permission get 403."""

from flask import url_for


def admin_urls(app) -> list[str]:
    """Every GET endpoint of every admin view, with no arguments needed."""
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            blueprint = rule.endpoint.partition(".")[0]
            if rule.endpoint == "admin.static" or "GET" not in rule.methods:
                continue
            if not rule.rule.startswith("/admin"):
                continue
            if rule.arguments:
                urls.append(url_for(rule.endpoint, **dict.fromkeys(rule.arguments, "csv")))
            else:
                urls.append(url_for(rule.endpoint))
            assert blueprint
    return urls


def test_anonymous_users_are_sent_to_login_from_every_admin_view(app, browser, units):
    urls = admin_urls(app)
    assert len(urls) >= 10
    b = browser()
    for url in urls:
        response = b.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url


def test_staff_without_any_role_get_403_from_every_admin_view(app, browser, staff):
    b = browser(staff["nobody"])
    for url in admin_urls(app):
        assert b.get(url).status_code == 403, url


def test_admin_posts_need_a_csrf_token(app, browser, staff):
    b = browser(staff["state"])
    assert b.client.post("/admin/members/action/", data={"action": "x"}).status_code == 400
