"""A live backoffice on a temporary SQLite database, and Debian's chromium to drive it.

Nothing downloads a browser: Playwright's Python package is told where
/usr/bin/chromium is. Without chromium the browser tests are skipped; .ci/run
installs it, so CI always runs them.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pyotp
import pytest
from flask_migrate import upgrade
from sqlalchemy import select
from werkzeug.serving import make_server

from backoffice import create_app
from backoffice.extensions import db
from backoffice.models import StaffUser
from backoffice.services import demo

CHROMIUM = os.environ.get("BACKOFFICE_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "browser-demo-pass"
SKIPS = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed"),
    # The live server runs on its own SQLite file whatever the suite's database:
    # the PostgreSQL pass of .ci/run would only repeat the same run.
    pytest.mark.skipif(bool(os.environ.get("BACKOFFICE_TEST_DATABASE_URL")),
                       reason="browser journeys run in the SQLite pass"),
]
#: where journeys save their screenshots: a temporary folder, so a test run never
#: changes tracked files; `make screenshots` points it at docs/screenshots/.
SCREENSHOT_DIR = "BACKOFFICE_SCREENSHOT_DIR"


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """The app with the demo hierarchy and logins, served on a free local port."""
    tmp = tmp_path_factory.mktemp("live")
    app = create_app({
        "TESTING": True, "ENV": "development", "SECRET_KEY": "browser-tests",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/live.sqlite3",
        "INSTANCE_PATH": str(tmp / "instance"), "SMS_GATEWAY": "memory",
        "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
        "RATELIMIT_ENABLED": False, "JOBS_QUEUE": "inline", "DEMO_PASSWORD": PASSWORD,
        "PHOTO_DIR": str(tmp / "photos"),
    })
    with app.app_context(), app.test_request_context():
        upgrade()
        units = demo.load_hierarchy()
        demo.create_demo_staff(units, PASSWORD)
        demo.seed_members(200, seed=3)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"])
    yield browser
    browser.close()
    playwright.stop()


#: reports each Content-Security-Policy violation on every page of a context, across
#: navigations (the binding outlives the page's window)
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolation({directive: event.effectiveDirective, blocked: event.blockedURI,
                         source: event.sourceFile + ":" + event.lineNumber,
                         sample: event.sample, page: document.location.href});
});
"""
#: console lines that mean one of our security headers is refused or refusing something
_HEADER_COMPLAINTS = ("Content Security Policy", "Content-Security-Policy",
                      "Permissions-Policy", "Permissions Policy")


def watch_security_policy(context, problems: list[str]) -> None:
    """Collect CSP violations and the console's complaints about our headers in
    ``problems``, for every page the context opens."""
    context.expose_binding("__cspViolation",
                           lambda _source, report: problems.append(f"CSP violation: {report}"))
    context.add_init_script(_REPORT_VIOLATIONS)

    def on_console(message):
        if any(words in message.text for words in _HEADER_COMPLAINTS):
            problems.append(f"console {message.type}: {message.text}")

    context.on("page", lambda page: page.on("console", on_console))


@pytest.fixture
def page_for(live, chromium):
    """A logged-in page for a demo login, in a language, at a width. Every journey
    runs with the Content-Security-Policy on: any violation on any page it visits,
    or a console complaint about the security headers, fails the test."""
    app, base = live
    contexts = []
    problems: list[str] = []

    def open_page(email: str, lang: str = "en", width: int = 1280):
        context = chromium.new_context(viewport={"width": width, "height": 900},
                                       accept_downloads=True)
        watch_security_policy(context, problems)
        context.add_cookies([{"name": "lang", "value": lang, "url": base}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{base}/login")
        page.fill("#login", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        for _attempt in range(2):  # a code works once: a second login waits for the next
            if "/login/code" not in page.url:
                break
            with app.app_context():
                secret = db.session.scalar(select(StaffUser.totp_secret).where(
                    StaffUser.email == email))
            totp = pyotp.TOTP(secret)
            if _attempt:
                time.sleep(totp.interval - time.time() % totp.interval + 1)
            page.fill("#code", totp.now())
            page.click("button[type=submit]")
        page.wait_for_load_state()  # the page after logging in, drawn (a click waits less)
        return page

    yield open_page
    for context in contexts:
        for page in context.pages:
            page.wait_for_load_state()  # reports still on their way
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """The folder screenshots go to: docs/screenshots/ only when asked for by name."""
    chosen = os.environ.get(SCREENSHOT_DIR)
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(screenshots):
    """Save a full-page screenshot of a page under a name; returns its path."""

    def take(page, name: str) -> Path:
        path = screenshots / name
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
