"""Joining on a phone in Hindi over a slow network, and what the light pages weigh.

A 360 px wide phone that sends Accept-Language en-IN (as most Android phones in
India do) on Chrome's slow-3G profile: the pages come in Hindi, every page is
checked for untranslated words and non-IST times (page_checks.py), and the
bytes each page costs are summed from the browser's own network log.
"""

import re

import pytest

from backoffice import sms
from backoffice.services.demo import DEMO_STAFF
from tests.browser.conftest import SKIPS, watch_security_policy
from tests.browser.page_checks import TransferLog, check_hindi_page

pytestmark = [
    *SKIPS,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

#: the issue's budgets for a page on a slow network, in bytes over the wire
COLD_BUDGET, WARM_BUDGET = 150_000, 15_000
HELPLINE = "1800 233 0001"
ENROLLER = "enroller.bilha@demo.sadasya.in"


@pytest.fixture
def join_settings(live):
    """The live app with a helpline and no minimum typing time, as before afterwards."""
    app, _base = live
    before = {key: app.config[key] for key in ("JOIN_HELPLINE", "JOIN_MIN_SECONDS")}
    app.config.update(JOIN_HELPLINE=HELPLINE, JOIN_MIN_SECONDS=0)
    yield app
    app.config.update(before)


@pytest.fixture
def phone(live, chromium):
    """A fresh 360 px phone context set to en-IN, its CSP violations collected."""
    problems: list[str] = []
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="en-IN",
                                   extra_http_headers={"Accept-Language": "en-IN,en;q=0.9"},
                                   is_mobile=True, has_touch=True)
    watch_security_policy(context, problems)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    page.wait_for_load_state()
    context.close()
    assert not problems, "\n".join(problems)


def weigh(page, url: str, log: TransferLog) -> int:
    """Bytes fetched to load ``url`` (the page and all it loads), the network log's sum."""
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # the page before's last reports, before the reset
    log.reset()
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)  # the last loadingFinished events
    return log.total()


def test_joining_in_hindi_on_a_slow_phone(live, join_settings, phone, screenshot):
    app, base = live
    log = TransferLog(phone)
    log.throttle(kbps=400, latency_ms=400)  # slow 3G

    cold = weigh(phone, f"{base}/join", log)
    assert cold < COLD_BUDGET, log.requests()
    warm = weigh(phone, f"{base}/join", log)
    assert warm < WARM_BUDGET, log.requests()
    print(f"/join: cold {cold:,} bytes, warm {warm:,} bytes")

    assert phone.evaluate("document.documentElement.lang") == "hi"  # not the phone's en-IN
    check_hindi_page(phone)
    assert HELPLINE in phone.locator("#helpline").inner_text()
    block = phone.locator("#block_id option").filter(has_text="बिल्हा").first
    phone.select_option("#block_id", block.get_attribute("value"))
    phone.fill("#full_name", "कविता यादव")
    phone.select_option("#relation", "husband")
    phone.fill("#relative_name", "राजेश यादव")
    phone.select_option("#gender", "female")
    phone.fill("#date_of_birth", "1991-02-03")
    phone.fill("#mobile", "98765 43201")  # a typo: the last two digits swapped
    phone.fill("#address", "ग्राम बिल्हा")
    phone.fill("#booth_no", "8")
    phone.check("#consent")
    screenshot(phone, "join-hi-360.png")
    phone.locator("form button[type=submit]").click()

    phone.wait_for_url(re.compile(r"/join/verify$"))
    check_hindi_page(phone)
    assert phone.locator("#number").inner_text() == "+91 98••••3201"
    phone.locator("#correct-number summary").click()
    phone.fill("#correct-number #mobile", "98765 43210")
    phone.locator("#correct-number button").click()
    phone.wait_for_url(re.compile(r"/join/verify$"))
    assert phone.locator("#number").inner_text() == "+91 98••••3210"
    check_hindi_page(phone)
    with app.app_context():
        code = sms.gateway().last_code_for("+919876543210")
    assert code
    phone.fill("#code", code)
    phone.locator("form:has(#code) button").click()

    number = phone.locator("#membership-no").inner_text()
    assert re.fullmatch(r"CG\d{9}", number)
    check_hindi_page(phone)
    assert HELPLINE in phone.locator("#helpline").inner_text()
    screenshot(phone, "join-done-hi-360.png")


def test_the_enrollers_form_is_light_on_a_phone(live, page_for):
    _app, base = live
    page = page_for(ENROLLER, lang="hi", width=360)
    log = TransferLog(page)
    log.session.send("Network.clearBrowserCache")
    cold = weigh(page, f"{base}/admin/members/new/", log)
    assert cold < COLD_BUDGET, log.requests()
    warm = weigh(page, f"{base}/admin/members/new/", log)
    assert warm < WARM_BUDGET, log.requests()
    print(f"/admin/members/new/: cold {cold:,} bytes, warm {warm:,} bytes")
    names = [name for _role, _unit, email, name in DEMO_STAFF if email == ENROLLER]
    check_hindi_page(page, names=names)
