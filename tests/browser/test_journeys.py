"""The main journeys in a real browser (Debian's chromium), English and Hindi."""

import csv
import io
import re
from datetime import date, timedelta

import pytest

from backoffice import sms
from backoffice.services.demo import DEMO_STAFF
from tests.browser.conftest import SKIPS

pytestmark = [
    *SKIPS,
    pytest.mark.browser,
    # The development server in the test thread leaves a static file to the garbage
    # collector when chromium cancels a request it no longer needs: not the app's code.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

ENROLLER = "enroller.bilha@demo.sadasya.in"
PRESIDENT = "block.bilha@demo.sadasya.in"
DISTRICT = "district.bilaspur@demo.sadasya.in"
OFFICER = "ro.bilaspur@demo.sadasya.in"


@pytest.mark.parametrize(("role", "email"), [(role, email) for role, _u, email, _n in DEMO_STAFF])
def test_each_role_logs_in_and_sees_the_dashboard(page_for, role, email):
    page = page_for(email)
    assert page.url.endswith("/admin/"), (role, page.url)
    # waits for it (is_visible() does not: a loaded machine had not drawn it yet)
    page.locator("text=Members in your units").wait_for(state="visible")


def record_and_verify(app, page, name: str, mobile: str, epic: str):
    """The enroller's steps: the form, the SMS code the member reads out."""
    page.goto(page.url.split("/admin")[0] + "/admin/members/new/")
    page.fill("#full_name", name)
    page.fill("#relative_name", "रामलाल साहू")
    page.fill("#date_of_birth", "1992-04-11")
    page.fill("#mobile", mobile)
    page.fill("#epic", epic)
    page.fill("#address", "ग्राम बिल्हा")
    page.fill("#booth_no", "21")
    block = page.locator("#block_id option").filter(has_text=re.compile("Bilha|बिल्हा")).first
    page.select_option("#block_id", block.get_attribute("value"))
    page.check("#consent")
    page.locator("form [type=submit]").first.click()
    page.wait_for_url(re.compile(r"/admin/members/verify/"))
    page.locator("button:has-text('SMS')").click()
    with app.app_context():
        code = sms.gateway().last_code_for("+91" + mobile.replace(" ", "")[-10:])
    page.fill("#code", code)
    page.locator("form:has(#code) button").click()
    page.wait_for_load_state()
    assert page.locator("#next-member").count() == 1  # on to the photo, then the next one
    return int(page.url.rsplit("=", 1)[1])


def test_a_member_from_signup_to_the_roll(live, page_for):
    app, _base = live
    enroller = page_for(ENROLLER, width=360)
    member_id = record_and_verify(app, enroller, "कविता वर्मा", "98270 11223", "BRW1234567")
    assert "कविता वर्मा" in enroller.content()

    president = page_for(PRESIDENT)
    president.goto(president.url + "queue/")
    row = president.locator(f"input.action-checkbox[value='{member_id}']")
    row.check()
    president.on("dialog", lambda dialog: dialog.accept())
    president.locator("li:has(a[data-model-action=approve]) > a.dropdown-toggle").click()
    president.locator("a[data-model-action=approve]").click()
    president.wait_for_url(re.compile(r"/decide/"))
    assert "Approve 1 member?" in president.content()  # confirmed, naming the count
    president.locator("#confirm-decision").click()
    president.wait_for_load_state()
    assert "Approve done" in president.content()

    district = page_for(DISTRICT)
    district.goto(district.url + f"members/details/?id={member_id}")
    history = district.content()
    assert "Member approved" in history and "Phone verified" in history
    district.goto(district.url.split("/admin")[0] + "/admin/audit_reports/?days=1")
    assert "Phone checks per enroller" in district.content()

    officer = page_for(OFFICER)
    officer.goto(officer.url + "rolls/new/")
    officer.fill("#title", "Bilaspur district conference")
    soon = (date.today() + timedelta(days=30)).isoformat()  # cut-offs lie within a year
    officer.fill("#cut_off", soon)
    officer.locator("form [type=submit]").first.click()
    officer.goto(officer.url.split("/admin")[0] + "/admin/rolls/")
    officer.locator("a[title='View Record'], a[href*='details']").first.click()
    officer.locator("button[value=freeze]").click()
    officer.fill("#claims_until", soon)
    officer.locator("button[value=publish]").click()
    with officer.expect_download() as download:
        officer.locator("a:has-text('CSV')").click()
    body = open(download.value.path(), encoding="utf-8-sig").read()
    names = [row[3] for row in csv.reader(io.StringIO(body))]
    assert "कविता वर्मा" in names


def test_the_same_journey_in_hindi_and_the_screens_people_see(live, page_for, screenshot):
    app, _base = live
    enroller = page_for(ENROLLER, lang="hi", width=360)
    enroller.goto(enroller.url.split("/admin")[0] + "/admin/members/new/")
    assert enroller.locator("html").get_attribute("lang") == "hi"
    screenshot(enroller, "member-form-360-hi.png")
    member_id = record_and_verify(app, enroller, "ज्योत्स्ना चंद्राकर", "98270 44556",
                                  "BRW7654321")
    assert member_id
    district = page_for(DISTRICT, lang="hi")
    assert "सदस्य" in district.content()
    screenshot(district, "dashboard-hi.png")
    english = page_for(ENROLLER, width=360)
    english.goto(english.url.split("/admin")[0] + "/admin/members/new/")
    screenshot(english, "member-form-360-en.png")
