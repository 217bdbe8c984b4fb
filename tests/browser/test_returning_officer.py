"""The returning officer's roll at a laptop (1366 px), in Hindi, after the two-step
login: the rolls list, a new roll, frozen, the preliminary roll published, an objection
filed and decided, the final roll, its CSV and PDF (made by a job, run in the request in
tests), and the roll's page with its exports. Every page is checked for untranslated
words and non-IST times and photographed."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Member, Roll, StaffUser, Unit
from backoffice.services.membership_numbers import format_membership_no
from tests import factories
from tests.browser.conftest import SKIPS
from tests.browser.page_checks import hindi_problems, page_text

pytestmark = [
    *SKIPS,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

OFFICER = "ro.bilaspur@demo.sadasya.in"
TITLE = "बिलासपुर ज़िला सम्मेलन"
ON_ROLL, OBJECTED = "सरोज ध्रुव", "ललिता नेताम"


@pytest.fixture
def eligible(live):
    """Two approved Masturi members recorded on 1 Nov 2026, before any cut-off: their
    membership numbers."""
    app, _base = live
    with app.app_context(), app.test_request_context():
        masturi = db.session.scalar(select(Unit).where(Unit.code == "BLK-MASTURI"))
        ids = {name: format_membership_no(factories.approved(
                   masturi, full_name=name, epic=f"ROJ{index:07d}",
                   created_at=datetime(2026, 11, 1)).id)
               for index, name in enumerate((ON_ROLL, OBJECTED))}
        db.session.commit()
    return ids


def people(app) -> list[str]:
    with app.app_context():
        rows = db.session.execute(select(Member.full_name, Member.relative_name)).all()
        staff = db.session.scalars(select(StaffUser.full_name)).all()
        titles = db.session.scalars(select(Roll.title)).all()  # as typed, as names are
    return [*staff, *(name for row in rows for name in row), *titles]


def test_the_returning_officer_takes_a_roll_to_final_in_hindi(live, page_for, screenshot,
                                                               eligible):
    app, base = live
    page = page_for(OFFICER, lang="hi", width=1366)  # password, then the TOTP code
    assert page.url.endswith("/admin/")
    seen = [*people(app), TITLE]
    problems: list[str] = []

    def check(name: str) -> None:
        """Photograph the page and note what the Hindi check finds on it."""
        screenshot(page, name)
        assert page.evaluate("document.documentElement.lang") == "hi", page.url
        problems.extend(f"{name}: {problem}" for problem in
                        hindi_problems(page_text(page), names=seen))

    check("officer-1-dashboard-1366-hi.png")
    page.goto(f"{base}/admin/rolls/new/")
    check("officer-2-new-roll-1366-hi.png")
    page.fill("#title", TITLE)
    district = page.locator("#unit_id option", has_text="बिलासपुर").first.get_attribute("value")
    page.select_option("#unit_id", district)
    page.fill("#cut_off", (date.today() + timedelta(days=30)).isoformat())
    page.locator("form.admin-form [type=submit]").first.click()
    page.wait_for_load_state()
    with app.app_context():
        roll_id = db.session.scalar(select(Roll.id).where(Roll.title == TITLE))
    assert roll_id
    page.goto(f"{base}/admin/rolls/")
    assert page.locator(f"td:has-text('{TITLE}')").count() == 1
    check("officer-3-rolls-1366-hi.png")

    page.goto(f"{base}/admin/rolls/details/?id={roll_id}")
    page.click("button[value=freeze]")
    page.wait_for_load_state()
    check("officer-4-frozen-1366-hi.png")
    page.fill("#claims_until", (date.today() + timedelta(days=7)).isoformat())
    page.click("button[value=publish]")
    page.wait_for_load_state()
    assert page.locator("button[value=finalise]").count() == 1

    # an objection against one member, filed and then decided on the roll's page
    page.goto(f"{base}/admin/claims/")
    page.select_option("#roll_id", str(roll_id))
    page.select_option("#kind", "objection")
    page.fill("#membership_no", eligible[OBJECTED])
    page.fill("#reason", "सदस्य का निधन हो चुका है")
    page.click("form button.btn-primary")
    page.wait_for_load_state()
    assert page.locator(".alert-success").count() == 1
    check("officer-5-claims-1366-hi.png")
    page.goto(f"{base}/admin/rolls/details/?id={roll_id}")
    page.fill("input[name=reason]", "मृत्यु प्रमाण पत्र देखा")
    page.click("button[value=accept]")
    page.wait_for_load_state()
    # too early: the claims period is still open, and the page says until when
    page.click("button[value=finalise]")
    page.wait_for_load_state()
    assert "तक" in page.locator(".alert-danger").inner_text()
    check("officer-6-preliminary-1366-hi.png")
    with app.app_context():  # a week later: the claims period is over
        roll = db.session.get(Roll, roll_id)
        roll.claims_until = date.today() - timedelta(days=1)
        db.session.commit()
    page.click("button[value=finalise]")
    page.wait_for_load_state()
    with app.app_context():
        assert db.session.get(Roll, roll_id).status == "final"

    # the exports: the CSV holds the member kept and not the one objected to
    with page.expect_download() as download:
        page.click("a[href*='format=csv']")
    names = {row[3] for row in csv.reader(io.StringIO(
        open(download.value.path(), encoding="utf-8-sig").read()))}
    assert ON_ROLL in names and OBJECTED not in names
    with page.expect_download() as download:
        page.click("a[href*='format=pdf']")
    assert open(download.value.path(), "rb").read(5) == b"%PDF-"
    page.goto(f"{base}/admin/rolls/details/?id={roll_id}")
    assert page.locator("#roll-files a").count() >= 2  # both files, ready again
    check("officer-7-final-exports-1366-hi.png")
    assert not problems, "\n".join(problems)
