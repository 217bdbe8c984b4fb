"""The role form in a real browser, in Hindi: people and units found as one types."""

import pytest

from backoffice.extensions import db
from backoffice.models import RoleAssignment, StaffUser
from backoffice.services.demo import DEMO_STAFF
from tests.browser.conftest import SKIPS
from tests.browser.page_checks import check_hindi_page

pytestmark = [
    *SKIPS,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

DISTRICT = "district.bilaspur@demo.sadasya.in"
PERSON = "enroller.masturi@demo.sadasya.in"  # given a second role, taken away after


def choose(page, field: str, typed: str, pick: str) -> None:
    """Type into a select2 search box and take the answer that reads ``pick``."""
    page.locator(f"#s2id_{field}").click()
    page.keyboard.type(typed)
    page.locator(".select2-result-label", has_text=pick).first.click()


def test_a_district_head_gives_a_role_by_typing(live, page_for):
    app, base = live
    with app.app_context():
        person = db.session.scalar(db.select(StaffUser).where(StaffUser.email == PERSON))
        name, person_id = person.full_name, person.id
    page = page_for(DISTRICT, lang="hi", width=360)
    page.goto(f"{base}/admin/roles/new/")
    check_hindi_page(page, names=[page.locator(".navbar-text").first.inner_text()])
    assert page.locator("#user").input_value() == ""  # nobody chosen in advance
    choose(page, "user", name.split()[0], name)
    page.select_option("#role", "enroller")
    choose(page, "unit", "बिल्हा", "ज़ोन")
    page.locator("form.admin-form [type=submit]").first.click()
    page.wait_for_load_state()
    with app.app_context():
        given = db.session.scalars(db.select(RoleAssignment).where(
            RoleAssignment.user_id == person_id, RoleAssignment.role == "enroller")
            .order_by(RoleAssignment.id)).all()
        assert len(given) == 2, page.content()[:3000]
        for extra in given[1:]:  # as the demo was, for the journeys after this one
            db.session.delete(extra)
        db.session.commit()
    check_hindi_page(page, names=[demo_name for _r, _u, _e, demo_name in DEMO_STAFF])
