"""The enroller's day on a phone, in Hindi, on a slow mobile network: dashboard -> new
member -> code sent -> code checked -> photo -> next member, and back to a member whose
code did not arrive. Screenshots of each step go to the screenshot folder."""

import io
import re
import time

import pytest
from PIL import Image
from sqlalchemy import select

from backoffice import sms
from backoffice.extensions import db
from backoffice.models import Member, StaffUser, Unit
from tests.browser.conftest import SKIPS
from tests.browser.page_checks import check_hindi_page

pytestmark = [
    *SKIPS,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

ENROLLER = "enroller.bilha@demo.sadasya.in"
#: Chrome DevTools' "Slow 3G": 500 kbit/s each way (at 80 %), 2 s round trips
SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 500 * 1000 / 8 * 0.8,
           "uploadThroughput": 500 * 1000 / 8 * 0.8}


def slow_3g(page) -> None:
    """Throttle the page's network as a phone on a poor connection sees it."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", SLOW_3G)
    page.set_default_timeout(120_000)


def photo_file(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (480, 640), (180, 120, 90)).save(buffer, "JPEG")
    path = tmp_path / "member.jpg"
    path.write_bytes(buffer.getvalue())
    return path


class Taps:
    """Counts the taps a person makes (each click is one)."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def tap(self, selector: str) -> None:
        self.count += 1
        self.page.locator(selector).first.click()
        self.page.wait_for_load_state()


def fill_member(page, name: str, mobile: str, epic: str, *, birth="1992-04-11") -> None:
    page.fill("#full_name", name)
    page.fill("#relative_name", "रामलाल साहू")
    page.fill("#date_of_birth", birth)
    page.fill("#mobile", mobile)
    page.fill("#epic", epic)
    page.fill("#address", "ग्राम बिल्हा")
    page.fill("#booth_no", "21")
    block = page.locator("#block_id option").filter(has_text=re.compile("बिल्हा|Bilha")).first
    page.select_option("#block_id", block.get_attribute("value"))
    page.check("#consent")


def code_for(app, mobile: str) -> str:
    with app.app_context():
        return sms.gateway().last_code_for("+91" + mobile.replace(" ", "")[-10:])



def people(app) -> list[str]:
    """Names the pages show as typed (staff, and Bilha's members and their relatives):
    the Hindi page check leaves them out."""
    with app.app_context():
        bilha = db.session.scalar(select(Unit.id).where(Unit.code == "BLK-BILHA"))
        rows = db.session.execute(select(Member.full_name, Member.relative_name).where(
            Member.block_id == bilha)).all()
        staff = db.session.scalars(select(StaffUser.full_name)).all()
    return [*staff, *(name for row in rows for name in row)]

def test_the_enroller_goes_from_one_member_to_the_next_on_a_slow_phone(live, page_for,
                                                                       screenshot, tmp_path):
    app, base = live
    page = page_for(ENROLLER, lang="hi", width=360)
    slow_3g(page)
    started = time.monotonic()
    page.goto(f"{base}/admin/")
    assert page.locator("html").get_attribute("lang") == "hi"
    seen = people(app)  # names as typed, which the Hindi check leaves out
    screenshot(page, "enroller-1-dashboard-360-hi.png")
    check_hindi_page(page, names=seen)
    taps = Taps(page)

    # dashboard -> new member: one tap
    taps.tap("#new-member")
    assert "/admin/members/new/" in page.url

    # three mistakes: all marked at once, in Hindi, beside their fields
    fill_member(page, "सरिता यादव", "1800 180 1551", "12345", birth="2015-01-01")
    taps.tap("#save-member")
    assert page.locator(".is-invalid").count() == 3
    assert "यह नंबर मोबाइल नंबर नहीं है" in page.locator("#mobile ~ .invalid-feedback").inner_text()
    screenshot(page, "enroller-2-form-errors-360-hi.png")
    check_hindi_page(page, names=seen)
    page.fill("#mobile", "98270 55001")
    page.fill("#epic", "BRW5500101")
    page.fill("#date_of_birth", "1990-02-03")
    page.check("#consent")
    taps.tap("#save-member")

    # -> code sent -> code checked
    assert "/admin/members/verify/" in page.url
    screenshot(page, "enroller-3-send-code-360-hi.png")
    check_hindi_page(page, names=seen)
    taps.tap("#send-code")
    page.fill("#code", code_for(app, "98270 55001"))
    taps.tap("#check-code")
    assert page.locator(".alert-success").filter(has_text="फ़ोन नंबर सत्यापित").count()

    # -> photo
    page.set_input_files("#photo", photo_file(tmp_path))
    taps.tap("#save-photo")
    assert "फ़ोटो सहेज ली गई है" in page.content()
    assert "✓ फ़ोटो" in page.inner_text(".verify-step")  # the three steps ticked
    screenshot(page, "enroller-4-done-next-360-hi.png")
    check_hindi_page(page, names=seen)

    # finished -> the next member started: at most 2 taps
    finished = taps.count
    taps.tap("#next-member")
    assert "/admin/members/new/" in page.url and page.input_value("#full_name") == ""
    assert taps.count - finished <= 2, taps.count - finished

    # the second member's code "does not arrive": back to it from the dashboard
    fill_member(page, "गीता साहू", "98270 55002", "BRW5500202")
    taps.tap("#save-member")
    taps.tap("#send-code")
    page.goto(f"{base}/admin/")
    screenshot(page, "enroller-5-dashboard-waiting-360-hi.png")
    check_hindi_page(page, names=seen)
    taps.tap("#waiting-for-code")
    assert "गीता साहू" in page.content()
    screenshot(page, "enroller-6-waiting-360-hi.png")
    check_hindi_page(page, names=seen)
    taps.tap("text=फ़ोन जाँचें")
    assert "/admin/members/verify/" in page.url
    page.fill("#code", code_for(app, "98270 55002"))
    taps.tap("#check-code")
    assert page.locator("#next-member").count() == 1
    print(f"\nenroller on slow 3G: 2 members in {time.monotonic() - started:.0f} s, "
          f"{taps.count} taps; finished -> next started: 1 tap")
