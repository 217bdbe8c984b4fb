"""/dev/outbox, the demo's SMS outbox: staff only, each the codes of their own units."""

import pytest

from backoffice import sms
from backoffice.extensions import db
from backoffice.services import verification
from backoffice.views.outbox import OutboxView
from tests import factories


def test_the_outbox_exists_only_in_debug_mode(make_app, app):
    assert app.test_client().get("/dev/outbox/").status_code == 404
    debug = make_app(DEBUG=True)
    assert debug.test_client().get("/dev/outbox/", follow_redirects=False).status_code == 302


def test_nobody_reads_the_demo_outbox_without_logging_in(make_app):
    """`make demo` runs in debug mode: its outbox holds live codes all the same."""
    demo = make_app(DEBUG=True)
    with demo.app_context():
        sms.gateway().send_code("+919812345601", "424242", "Your code is 424242", "en")
    for url in ("/dev/outbox", "/dev/outbox/"):
        response = demo.test_client().get(url, follow_redirects=True)
        assert "424242" not in response.get_data(as_text=True), url
        assert response.request.path == "/login", url


@pytest.fixture
def codes(app, ctx, units, staff):
    """The outbox page on the test's app (as in debug mode), and a code sent to a
    member of Bilha and one of Masturi, by their own enrollers."""
    app.extensions["admin"][0].add_view(OutboxView())
    sent = {}
    for code in ("BLK-BILHA", "BLK-MASTURI"):
        member = factories.member(units[code])
        enroller = factories.staff_with_role("enroller", units[code])
        assert verification.send_code(member, actor=enroller, locale="en").ok
        db.session.commit()
        sent[code] = sms.gateway().outbox[0].text
    return sent


@pytest.mark.parametrize(("role", "sees"), [
    ("bilha", {"BLK-BILHA"}), ("enroller", {"BLK-BILHA"}), ("masturi", {"BLK-MASTURI"}),
    ("zone_enroller", set()), ("state", {"BLK-BILHA", "BLK-MASTURI"}),
])
def test_staff_see_only_the_codes_sent_to_members_of_their_units(browser, staff, codes, role,
                                                                  sees):
    page = browser(staff[role]).get("/dev/outbox/").get_data(as_text=True)
    for block, text in codes.items():
        assert (text in page) == (block in sees), (role, block)


@pytest.mark.parametrize("role", ["district", "division", "ro", "nobody"])
def test_staff_who_do_not_check_phones_are_refused(browser, staff, codes, role):
    response = browser(staff[role]).get("/dev/outbox/")
    assert response.status_code == 403
    assert not any(text in response.get_data(as_text=True) for text in codes.values())
