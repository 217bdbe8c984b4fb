"""The block president's approvals at a laptop (1366 px), in Hindi: from the dashboard's
number to the queue, one tap per approval with the member's photo beside it, undo, a
bulk decision confirmed with its count, and the member's page. Screenshots of each step
go to the screenshot folder."""

import io

import pytest
from PIL import Image
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Member, StaffUser, Unit, utcnow
from backoffice.services import photos
from tests import factories
from tests.browser.conftest import SKIPS
from tests.browser.page_checks import check_hindi_page

pytestmark = [
    *SKIPS,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

PRESIDENT = "block.bilha@demo.sadasya.in"
NAMES = ("कमला ध्रुव", "सुनीता पटेल", "रेखा कौशिक", "मीना साहू")


def jpeg(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (240, 320), colour).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def waiting(live):
    """Four Bilha members whose phone is checked, each with a photo, waiting."""
    app, _base = live
    with app.app_context(), app.test_request_context():
        bilha = db.session.scalar(select(Unit).where(Unit.code == "BLK-BILHA"))
        members = {}
        for index, name in enumerate(NAMES):
            member = factories.member(bilha, status="phone_verified", verified_at=utcnow(),
                                      full_name=name, epic=f"BPJ{index:07d}")
            photos.attach(member, jpeg((60 * index, 120, 200 - 40 * index)))
            members[name] = member.id
        db.session.commit()
    yield members
    with app.app_context():
        for member_id in members.values():
            assert db.session.get(Member, member_id) is not None


def status(app, member_id) -> str:
    with app.app_context():
        return db.session.get(Member, member_id).status



def people(app) -> list[str]:
    """Names the pages show as typed (staff, and Bilha's members and their relatives):
    the Hindi page check leaves them out."""
    with app.app_context():
        bilha = db.session.scalar(select(Unit.id).where(Unit.code == "BLK-BILHA"))
        rows = db.session.execute(select(Member.full_name, Member.relative_name).where(
            Member.block_id == bilha)).all()
        staff = db.session.scalars(select(StaffUser.full_name)).all()
    return [*staff, *(name for row in rows for name in row)]

def test_the_block_president_approves_with_photos_undo_and_counts(live, page_for, screenshot,
                                                                   waiting):
    app, base = live
    page = page_for(PRESIDENT, lang="hi", width=1366)
    page.on("dialog", lambda dialog: dialog.accept())
    seen = people(app)  # names as typed, which the Hindi check leaves out
    page.goto(f"{base}/admin/")
    screenshot(page, "president-1-dashboard-1366-hi.png")
    check_hindi_page(page, names=seen)
    # the dashboard's "phone verified" number is the queue it counts
    assert page.locator("a.dashboard-count[href='/admin/queue/']").count() == 1
    page.click("#to-approve")
    assert page.url.endswith("/admin/queue/")
    first, second, third, fourth = (waiting[name] for name in NAMES)
    row = page.locator(f"tr:has(button[value='{first}'])")
    assert row.locator("img.member-photo").count() == 1  # the photo beside the buttons
    screenshot(page, "president-2-queue-1366-hi.png")
    check_hindi_page(page, names=seen)

    # one tap approves; the undo is offered, in Hindi, and takes it back
    row.locator(f"button[value='{first}']").click()
    page.wait_for_load_state()
    assert status(app, first) == "approved"
    assert page.locator(f"button[value='{first}']").count() == 0
    offer = page.locator("#undo-offer")
    assert "पूर्ववत" in offer.inner_text()
    screenshot(page, "president-3-undo-1366-hi.png")
    check_hindi_page(page, names=seen)
    offer.locator("button").click()
    page.wait_for_load_state()
    assert status(app, first) == "phone_verified"
    assert page.locator(f"button[value='{first}']").count() == 1

    # a bulk decision names its count before it is taken
    for member_id in (second, third):
        page.check(f"input.action-checkbox[value='{member_id}']")
    page.click("li:has(a[data-model-action=approve]) > a.dropdown-toggle")
    page.click("a[data-model-action=approve]")
    page.wait_for_url("**/decide/**")
    assert "2 सदस्य — स्वीकृत करें?" in page.inner_text("h2")
    assert page.locator("img.member-photo").count() == 2
    screenshot(page, "president-4-confirm-1366-hi.png")
    check_hindi_page(page, names=seen)
    page.click("#confirm-decision")
    page.wait_for_load_state()
    assert status(app, second) == status(app, third) == "approved"
    assert "2 सदस्यों पर आपका निर्णय" in page.locator("#undo-offer").inner_text()

    # the member's page: photo, approve and reject; a rejection asks its reason
    page.goto(f"{base}/admin/members/details/?id={fourth}")
    assert page.locator("img.member-photo-large").count() == 1
    assert page.locator("#decide-approve").count() == 1
    screenshot(page, "president-5-member-1366-hi.png")
    check_hindi_page(page, names=seen)
    page.click("a[href*='action=reject']")
    page.fill("#reason", "सदस्य ने स्वयं मना किया")
    page.click("#confirm-decision")
    page.wait_for_load_state()
    assert status(app, fourth) == "rejected"
    page.goto(f"{base}/admin/members/details/?id={fourth}")
    page.click("#undo-member")
    page.wait_for_load_state()
    assert status(app, fourth) == "phone_verified"
