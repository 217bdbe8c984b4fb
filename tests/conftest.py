"""Test fixtures: a fresh app per test, each test inside a transaction rolled back.

The schema is built once per run by the real migrations, on SQLite (a
temporary file) or, when BACKOFFICE_TEST_DATABASE_URL is set, PostgreSQL.
"""

from __future__ import annotations

import contextvars
import os
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from flask_login.utils import _create_identifier
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from backoffice import create_app
from backoffice.auth import second_factor
from backoffice.extensions import db
from backoffice.services import units as unit_service
from tests import factories

pytest_plugins = ["tests.log_guard"]  # no personal data in any log record of the run

POSTGRES_URL = os.environ.get("BACKOFFICE_TEST_DATABASE_URL")
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'name="csrf_token" value="([^"]+)"')


def base_config(database_url: str, tmp: Path) -> dict:
    return {
        "TESTING": True,
        "ENV": "development",
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_ENABLED": False,  # tests of the limits switch them on
        "SMS_GATEWAY": "memory",
        "PHOTO_DIR": str(tmp / "photos"),
        "INSTANCE_PATH": str(tmp / "instance"),
        "JOBS_QUEUE": "inline",
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A migrated, empty database for the whole run."""
    if POSTGRES_URL:
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        url = POSTGRES_URL
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    app = create_app(base_config(url, tmp_path_factory.mktemp("setup")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def app(database_url, tmp_path):
    """A fresh app whose every session runs inside one transaction, rolled back after."""
    app = create_app(base_config(database_url, tmp_path))
    with app.app_context():
        engine = db.engine
        connection = engine.connect()
        outer = connection.begin()
        # Flask-SQLAlchemy picks the bind per app from this mapping; pointing it at
        # the connection makes every session join the outer transaction (savepoints).
        db._app_engines[app][None] = connection
        try:
            yield app
        finally:
            db.session.remove()
            outer.rollback()
            connection.close()
            db._app_engines[app][None] = engine
            engine.dispose()


@pytest.fixture
def make_app(database_url, tmp_path):
    """Extra apps outside the test transaction (e.g. two workers); engines closed after."""
    made = []

    def make(**config):
        extra = create_app(base_config(database_url, tmp_path) | config)
        made.append(extra)
        return extra

    yield make
    for extra in made:
        with extra.app_context():
            db.engine.dispose()


@pytest.fixture
def ctx(app):
    """A request context for service tests, messages in English."""
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        yield


@pytest.fixture
def dialect(app) -> str:
    return db.session.get_bind().dialect.name


@pytest.fixture
def units(app):
    """The shipped Chhattisgarh hierarchy, by code, plus a zone under Bilha."""
    by_code = unit_service.load_units(unit_service.read_units_csv())
    by_code["ZONE-BILHA-1"] = unit_service.create_unit(
        level="zone", code="ZONE-BILHA-1", name_en="Bilha zone 1", name_hi="बिल्हा ज़ोन 1",
        parent=by_code["BLK-BILHA"],
    )
    db.session.flush()
    return by_code


@pytest.fixture
def staff(units):
    """One user per role at realistic units, keyed by a short name."""
    return {
        "state": factories.staff_with_role("state_admin", units["CG"]),
        "division": factories.staff_with_role("division_incharge", units["DIV-BILASPUR"]),
        "district": factories.staff_with_role("district_president", units["DIST-BILASPUR"]),
        "other_district": factories.staff_with_role("district_president", units["DIST-RAIPUR"]),
        "bilha": factories.staff_with_role("block_president", units["BLK-BILHA"]),
        "masturi": factories.staff_with_role("block_president", units["BLK-MASTURI"]),
        "enroller": factories.staff_with_role("enroller", units["BLK-BILHA"]),
        "zone_enroller": factories.staff_with_role("enroller", units["ZONE-BILHA-1"]),
        "ro": factories.staff_with_role("returning_officer", units["DIST-BILASPUR"]),
        "nobody": factories.StaffFactory(),
    }


class IsolatedClient(FlaskClient):
    """Each request in its own app context, as in production.

    The test keeps an app context pushed (for factories); Flask would reuse it
    for requests, sharing ``g`` and the session between requests. Running each
    request in an empty contextvars context gives it a fresh app context and
    a fresh session, bound to the same outer transaction.
    """

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)  # streamed bodies are read inside the context
        return contextvars.Context().run(super().open, *args, **kwargs)


class Browser:
    """A test client that logs in as a user and posts forms with their CSRF token."""

    def __init__(self, app, user=None):
        self.app = app
        app.test_client_class = IsolatedClient
        self.client = app.test_client()
        if user is not None:
            self.login_as(user)

    def login_as(self, user) -> None:
        # Flask-Login keeps a hash of address and browser; "basic" protection only marks
        # a session not fresh when it changes (docs/secret-key.md), so set it as login does.
        with self.app.test_request_context(environ_base=self.client.environ_base):
            identifier = _create_identifier()
        with self.client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
            session["_id"] = identifier
            session[second_factor.SESSION_OK] = user.id  # as if past two-step login

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def csrf_token(self, url="/login") -> str:
        page = self.client.get(url).get_data(as_text=True)
        match = CSRF_RE.search(page)
        assert match, f"no CSRF token on {url}: {page[:3000]}"
        return match.group(1) or match.group(2)

    def post(self, url, data=None, *, token_from="/login", **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token(token_from))
        return self.client.post(url, data=data, **kwargs)


@pytest.fixture
def browser(app):
    def make(user=None, lang="en") -> Browser:
        """Tests read English unless they ask for Hindi (or None: the app's default)."""
        b = Browser(app, user)
        if lang:
            b.client.set_cookie("lang", lang)
        return b

    return make


def _tracked_changes() -> str:
    """Tracked files that differ from the last commit, as git lists them."""
    import shutil
    import subprocess

    return subprocess.run([shutil.which("git"), "status", "--porcelain", "--untracked-files=no"],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True,
                          text=True, check=False).stdout


def pytest_sessionstart(session):
    # CI runs on a clean clone: any tracked file changed by the end was a test's doing.
    # (Locally the tree may be mid-edit, so the check runs under CI=true only.)
    session.config._tracked_before = _tracked_changes() if os.environ.get("CI") else None


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_tracked_before", None)
    if before is None:
        return
    after = _tracked_changes()
    if after != before:
        session.config.get_terminal_writer().line(
            "Tests changed tracked files (write to a temporary folder instead):\n" + after,
            red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
