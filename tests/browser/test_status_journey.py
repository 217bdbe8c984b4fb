"""A member looks up their own status on a 360 px phone in Hindi (docs/status.md)."""

import re

import pytest
from sqlalchemy import select

from backoffice import sms
from backoffice.extensions import db
from backoffice.models import Member
from backoffice.services.membership_numbers import format_membership_no
from tests.browser.conftest import SKIPS
from tests.browser.page_checks import check_hindi_page
from tests.browser.test_join_journey import phone  # noqa: F401 - the 360 px phone fixture

pytestmark = [
    *SKIPS,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def fits(page) -> bool:
    """Nothing wider than the phone: no sideways scrolling."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_member_sees_their_status_on_a_phone_in_hindi(live, phone, screenshot):  # noqa: F811
    app, base = live
    with app.test_request_context():
        member = db.session.scalar(select(Member).where(
            Member.status == "approved", Member.erased_at.is_(None)).order_by(Member.id))
        number, mobile, member_id = format_membership_no(member.id), member.mobile, member.id
        db.session.rollback()
    phone.goto(f"{base}/status")
    check_hindi_page(phone)
    assert fits(phone)
    phone.fill("#number", number[2:].lstrip("0"))  # typed without the prefix and zeros
    screenshot(phone, "status-hi-360.png")
    phone.locator("form button[type=submit]").click()
    phone.wait_for_url(re.compile(r"/status/code$"))
    check_hindi_page(phone)
    assert fits(phone) and mobile[-4:] not in phone.content()
    with app.app_context():
        code = sms.gateway().last_code_for(mobile)
    phone.fill("#code", code)
    phone.locator("form:has(#code) button").click()
    phone.wait_for_url(re.compile(r"/status/me$"))
    check_hindi_page(phone)
    assert fits(phone)
    assert phone.locator("#membership-no").inner_text() == number
    assert phone.locator("#phone").inner_text().endswith(mobile[-4:])
    assert "स्वीकृत" in phone.locator("#status").inner_text()
    screenshot(phone, "status-me-hi-360.png")
    phone.locator("#notices button").click()
    phone.wait_for_url(re.compile(r"/status/me$"))
    assert "SMS सूचनाएँ बंद हैं" in phone.locator("#notices").inner_text()
    with app.app_context():
        assert db.session.get(Member, member_id).sms_opt_out is True
        db.session.rollback()
