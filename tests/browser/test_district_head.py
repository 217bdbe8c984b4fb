"""The district head's audit at a laptop (1366 px), in Hindi: the dashboard, the audit
reports with something in each of their night-burst, shared-phone, consecutive-number
and reused-photo tables, a report's drill-down with the members' photos, a member, and
the audit log filtered to one kind of event. Every page is checked for untranslated
words and non-IST times and photographed."""

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Member, StaffUser, Unit, utcnow
from backoffice.services import photos
from tests import factories
from tests.browser.conftest import SKIPS
from tests.browser.page_checks import hindi_problems, page_text

pytestmark = [
    *SKIPS,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

DISTRICT = "district.bilaspur@demo.sadasya.in"
ENROLLER = "enroller.masturi@demo.sadasya.in"


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (240, 320), (180, 90, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def suspicious(live):
    """Ten Masturi members recorded by one enroller between 01:00 and 02:00 IST last
    night: four on one phone, four more on consecutive numbers, two with one photo."""
    app, _base = live
    with app.app_context(), app.test_request_context():
        masturi = db.session.scalar(select(Unit).where(Unit.code == "BLK-MASTURI"))
        enroller = db.session.scalar(select(StaffUser.id).where(StaffUser.email == ENROLLER))
        now = utcnow()
        night = (now - timedelta(days=1)).replace(hour=19, minute=40, second=0, microsecond=0)
        mobiles = ["+919300055501"] * 4 + [f"+9193000666{n:02d}" for n in range(4)] + [
            "+919300077701", "+919300077702"]
        ids = []
        for index, mobile in enumerate(mobiles):
            member = factories.member(masturi, full_name="गीता मरकाम", mobile=mobile,
                                      epic=f"DHJ{index:07d}", recorded_by_id=enroller,
                                      created_at=night + timedelta(minutes=index))
            if index >= 8:
                photos.attach(member, jpeg())
            ids.append(member.id)
        db.session.commit()
    return ids


def people(app) -> list[str]:
    """Names the pages show as typed: staff and the district's members and relatives."""
    with app.app_context():
        rows = db.session.execute(select(Member.full_name, Member.relative_name)).all()
        staff = db.session.scalars(select(StaffUser.full_name)).all()
    # the duplicates report's example, in both scripts
    return [*staff, *(name for row in rows for name in row), "Kamla Baghel"]


def test_the_district_head_audits_in_hindi(live, page_for, screenshot, suspicious):
    app, base = live
    page = page_for(DISTRICT, lang="hi", width=1366)
    seen = people(app)
    problems: list[str] = []

    def check(name: str) -> None:
        """Photograph the page and note what the Hindi check finds on it."""
        screenshot(page, name)
        assert page.evaluate("document.documentElement.lang") == "hi", page.url
        problems.extend(f"{name}: {problem}" for problem in
                        hindi_problems(page_text(page), names=seen))

    page.goto(f"{base}/admin/")
    check("district-1-dashboard-1366-hi.png")

    page.goto(f"{base}/admin/audit_reports/?days=3")
    for table in ("bursts", "phones", "runs", "photos", "otp"):
        assert page.locator(f"table.report-{table} a").count() >= 1, table
    check("district-2-audit-reports-1366-hi.png")

    # the reused photo opens on its members, each with a link and (where taken) a photo
    ours = page.locator("table.report-photos tr").filter(
        has=page.locator(f"a[href*='id={suspicious[8]}']"))
    ours.locator("a:has-text('सभी')").click()
    page.wait_for_url("**/audit_reports/members/**")
    for member_id in suspicious[8:]:  # both, each with the photo beside the link
        row = page.locator("tr").filter(has=page.locator(f"a[href$='id={member_id}']"))
        assert row.locator("img.member-photo").count() == 1
    check("district-3-drill-down-1366-hi.png")
    page.goto(f"{base}/admin/audit_reports/?days=3")
    page.locator("table.report-bursts a").first.click()
    page.wait_for_url("**/audit_reports/members/**")
    assert page.locator("a[href*='/admin/members/details/']").count() >= 10
    check("district-3b-night-burst-1366-hi.png")

    page.locator(f"a[href*='/admin/members/details/?id={suspicious[8]}']").first.click()
    page.wait_for_load_state()
    assert page.locator("img.member-photo-large").count() == 1
    check("district-4-member-1366-hi.png")

    # the audit log, filtered to members recorded: each row says so, in Hindi
    page.goto(f"{base}/admin/audit/?flt0_0=member.create")
    what = page.locator("td.col-action").all_inner_texts()
    assert len(what) >= 10 and set(what) == {"सदस्य दर्ज"}, what
    check("district-5-audit-log-1366-hi.png")
    assert not problems, "\n".join(problems)
