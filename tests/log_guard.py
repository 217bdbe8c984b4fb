"""A pytest plugin: no log record of the whole run carries personal data.

Every record from every logger (the app's, werkzeug's, SQLAlchemy's, alembic's...)
at INFO and above goes through one handler on the root logger, formatted with its
traceback. Each is searched for
- anything shaped like an Indian mobile number (+91 and ten digits, or ten digits
  from 6-9, spaced or not), a voter ID (three letters, seven digits) or an email
  address: the test data's phones (+91981200xxxx from the factories, 98765 43210
  typed into forms), voter IDs (TST0000001...) and staff emails all have these
  shapes; and
- the name of every member or staff user the tests wrote through the ORM.

The patterns here are written independently of backoffice/logs.py, which masks
records: a pattern that masking missed would be missed twice otherwise.

A test during which a record leaked fails at teardown; records outside any test
(the session's migrations) fail the run at its end. The report masks what leaked.
"""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import event

from backoffice.models import Member, StaffUser

SHAPES = re.compile(
    r"(?<!\d)(?:\+91|0091)[\s-]?\d{5}[\s-]?\d{5}(?!\d)"  # +91 98765 43210
    r"|(?<![\d.])0?[6-9]\d{4}[\s-]?\d{5}(?![\d.])"  # 9876543210, 09876543210
    r"|\b[A-Za-z]{3}\d{7}\b"  # a voter ID (EPIC)
    r"|\b[\w.+-]+@[\w-]+\.[a-z]{2,}\b"  # an email address
)
_WORDS = re.compile(r"[^\s'\",;:()\[\]{}=<>|/\\]+")


class Guard(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter("%(levelname)s [%(name)s] %(message)s"))
        self.names: set[str] = set()
        self.leaks: list[tuple[str, str, str]] = []
        self.test = "(outside any test)"

    def remember(self, name: str | None) -> None:
        words = " ".join((name or "").split())
        if len(words) >= 6 and " " in words:  # a full name, not a word that is everywhere
            self.names.add(words)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception as error:  # noqa: BLE001 - a record that cannot be formatted
            text = f"(unformattable record: {error!r})"
        found = [m.group(0) for m in SHAPES.finditer(text)] + self._names_in(text)
        if found:
            self.leaks.append((self.test, record.name,
                               ", ".join(_hint(value) for value in found[:5])))

    def _names_in(self, text: str) -> list[str]:
        if not self.names:
            return []
        words = _WORDS.findall(text)
        found = []
        for size in (2, 3, 4):
            for start in range(len(words) - size + 1):
                candidate = " ".join(words[start:start + size])
                if candidate in self.names:
                    found.append(candidate)
        return found


def _hint(value: str) -> str:
    """What leaked, said without repeating it: its first and last characters."""
    return f"{value[:2]}…{value[-2:]} ({len(value)} chars)"


GUARD = Guard()


def _listen_for_names() -> None:
    def remember(_mapper, _connection, target) -> None:
        GUARD.remember(target.full_name)
        if isinstance(target, Member):
            GUARD.remember(target.relative_name)

    for model in (Member, StaffUser):
        event.listen(model, "before_insert", remember)
        event.listen(model, "before_update", remember)


def _attach() -> None:
    """On the root logger, at INFO. Migrations run logging.config.fileConfig, which
    replaces the root's handlers and levels: so this runs again around every test.

    SQLAlchemy's statement log (INFO on sqlalchemy.engine) stays off for the run: it
    would add a quarter to its time and bury every failure report in SQL;
    tests/test_logs.py turns it on where statements carry personal values."""
    root = logging.getLogger()
    if GUARD not in root.handlers:
        root.addHandler(GUARD)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def pytest_configure(config) -> None:
    _listen_for_names()
    _attach()


@pytest.fixture(autouse=True)
def no_personal_data_in_logs(request):
    _attach()
    GUARD.test, before = request.node.nodeid, len(GUARD.leaks)
    yield
    _attach()
    leaks, GUARD.test = GUARD.leaks[before:], "(outside any test)"
    del GUARD.leaks[before:]
    if leaks:
        pytest.fail("personal data in log records: " + "; ".join(
            f"[{logger}] {found}" for _test, logger, found in leaks[:10]), pytrace=False)


def pytest_sessionfinish(session, exitstatus) -> None:
    if GUARD.leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for test, logger, found in GUARD.leaks[:20]:
            reporter.write_line(f"personal data in a log record: {test} [{logger}] {found}",
                                red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
