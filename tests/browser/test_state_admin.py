"""The state admin and the division in-charge at a laptop (1366 px), in Hindi. The state
admin (two-step login): the dashboard, the units list, a new block placed by typing its
district's name into "Part of" (a search as one types, not a list of every unit), the
targets per level and the staff list. The division in-charge, who mostly reads: the
dashboard and the lists of members, staff and units. Every page is checked for
untranslated words and non-IST times and photographed."""

import pytest
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Member, StaffUser, Unit
from tests.browser.conftest import SKIPS
from tests.browser.page_checks import hindi_problems, page_text

pytestmark = [
    *SKIPS,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

ADMIN = "admin@demo.sadasya.in"
DIVISION = "division.bilaspur@demo.sadasya.in"
NEW_CODE = "BLK-SAJ-TEST"


def people(app) -> list[str]:
    """Names pages show as typed: staff, members and their relatives, and the units'
    English names (the units list has a column of them, "Saja test" among them)."""
    with app.app_context():
        rows = db.session.execute(select(Member.full_name, Member.relative_name)).all()
        staff = db.session.scalars(select(StaffUser.full_name)).all()
        units = db.session.scalars(select(Unit.name_en)).all()
    return [*staff, *(name for row in rows for name in row), *units, "Saja test"]


def scanner(page, screenshot, names):
    problems: list[str] = []

    def check(name: str) -> None:
        """Photograph the page and note what the Hindi check finds on it."""
        screenshot(page, name)
        assert page.evaluate("document.documentElement.lang") == "hi", page.url
        problems.extend(f"{name}: {problem}" for problem in
                        hindi_problems(page_text(page), names=names))

    return check, problems


@pytest.fixture
def new_unit_removed(live):
    app, _base = live
    yield
    with app.app_context():  # as the demo was, for the journeys after this one
        unit = db.session.scalar(select(Unit).where(Unit.code == NEW_CODE))
        if unit is not None:
            db.session.delete(unit)
            db.session.commit()


def test_the_state_admin_in_hindi(live, page_for, screenshot, new_unit_removed):
    app, base = live
    page = page_for(ADMIN, lang="hi", width=1366)  # password, then the TOTP code
    assert page.url.endswith("/admin/")
    check, problems = scanner(page, screenshot, people(app))
    check("state-1-dashboard-1366-hi.png")
    page.goto(f"{base}/admin/units/")
    check("state-2-units-1366-hi.png")

    page.goto(f"{base}/admin/units/new/")
    assert page.locator("select#parent_id").count() == 0  # no list of every unit
    page.fill("#code", NEW_CODE)
    page.fill("#name_hi", "साजा परीक्षण")
    page.fill("#name_en", "Saja test")
    page.select_option("#level", "block")
    page.locator("#s2id_parent_id").click()
    page.keyboard.type("मुंगेली")
    answers = page.locator(".select2-result-label")
    answers.first.wait_for()
    assert answers.count() <= 20
    check("state-3-unit-form-1366-hi.png")
    answers.filter(has_text="ज़िला").first.click()
    page.locator("form.admin-form [type=submit]").first.click()
    page.wait_for_load_state()
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == NEW_CODE))
        assert unit is not None and unit.parent.code == "DIST-MUNGELI"

    page.goto(f"{base}/admin/targets/")
    assert page.locator("form.targets input[name=target]").count() >= 5  # the divisions
    check("state-4-targets-1366-hi.png")
    page.goto(f"{base}/admin/staff/")
    check("state-5-staff-1366-hi.png")
    assert not problems, "\n".join(problems)


def test_the_division_in_charge_reads_in_hindi(live, page_for, screenshot):
    app, base = live
    page = page_for(DIVISION, lang="hi", width=1366)
    check, problems = scanner(page, screenshot, people(app))
    check("division-1-dashboard-1366-hi.png")
    for index, (path, name) in enumerate((("members", "members"), ("staff", "staff"),
                                          ("units", "units")), start=2):
        page.goto(f"{base}/admin/{path}/")
        assert page.locator("table.model-list").count() == 1, path
        assert page.locator("a[href*='/new/']").count() == 0  # nothing to add here
        check(f"division-{index}-{name}-1366-hi.png")
    assert not problems, "\n".join(problems)
