"""No personal data in any log line: values masked in every record, SQL parameters
never printed. (tests/log_guard.py checks the records of the whole run.)"""

import logging

import pytest
from sqlalchemy import insert, select, text

from backoffice.extensions import db
from backoffice.logs import mask
from backoffice.models import Member
from tests import factories
from tests.log_guard import Guard


@pytest.mark.parametrize(("line", "kept"), [
    ("DETAIL:  Key (epic)=(TST1000001) already exists.", "Key (epic)=(•••) already exists"),
    ("Key (mobile, full_name)=(+919812000001, सुनीता साहू) already exists.", "=(•••)"),
    ("DETAIL:  Failing row contains (7, सुनीता साहू, +919812000001, null).",
     "Failing row contains (•••)"),
    ("[parameters: {'full_name': 'सुनीता साहू', 'mobile': '+919812000001'}]",
     "'full_name': '•••'"),
    ("sent to 98120 00001, 09812000001, +91-98120-00001 and 0091 9812000001", "sent to •••"),
    ("voter id tst1000001 and login anita@example.test", "voter id •••"),
    ('"GET /admin/members/?search=%E0%A4%B8%E0%A5%81%E0%A4%A8 HTTP/1.1" 200',
     "/admin/members/?search=••• HTTP/1.1"),
    ("GET /admin/members/?page=2&search=सुनीता%20साहू&sort=0", "?page=2&search=•••&sort=0"),
])
def test_personal_values_are_masked(line, kept):
    masked = mask(line)
    assert kept in masked
    for value in ("1000001", "9812000001", "98120 00001", "सुनीता", "anita@", "%E0%A4%B8"):
        assert value not in masked


def test_ordinary_numbers_are_left_alone():
    line = "GET /admin/members/?page=199 took 12.5 ms, 10,001 rows, id 1234567890, seq 42"
    assert mask(line) == line


def test_a_failed_statement_logs_neither_its_values_nor_the_databases_detail(
        app, browser, staff, units, caplog):
    """A 500 whose traceback is a unique-key failure over a member's row: the
    statement's parameters (SQLAlchemy) and the key's value (PostgreSQL's DETAIL)
    name the member; neither reaches the log."""
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], full_name="कमला देवी वर्मा")
    values = {column: getattr(member, column) for column in (
        "full_name", "relative_name", "relation", "gender", "date_of_birth", "mobile",
        "epic", "address", "booth_no", "division_id", "district_id", "block_id", "channel",
        "status")}

    @app.route("/test-duplicate")
    def duplicate():
        db.session.execute(insert(Member).values(**values),  # the same voter ID again
                           execution_options={"audited": True})
        return "not reached"

    with caplog.at_level(logging.ERROR):
        response = browser().get("/test-duplicate")
    assert response.status_code == 500
    logged = "\n".join(caplog.messages + [r.exc_text or "" for r in caplog.records])
    assert "IntegrityError" in logged  # the error is logged, only its values are not
    for value in (member.mobile, member.mobile[3:], member.epic, "कमला देवी"):
        assert value not in logged


def test_sqlalchemys_statement_log_shows_no_parameters(make_app, caplog):
    """With the statement log on (echo, or INFO on sqlalchemy.engine), bound values
    stay hidden: a lookup by a member's phone and name shows neither."""
    app = make_app()
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"), app.app_context():
        db.session.execute(select(Member.id).where(
            Member.mobile == "+919812999999", Member.full_name == "कमला देवी वर्मा"))
        db.session.execute(text("SELECT :phone"), {"phone": "+919812999998"})
        db.session.remove()
    logged = "\n".join(caplog.messages)
    assert "SELECT member.id" in logged and "hidden" in logged
    for value in ("9812999999", "9812999998", "कमला"):
        assert value not in logged


def test_the_run_wide_guard_notices_a_leak():
    guard = Guard()
    guard.remember("कमला देवी वर्मा")
    for leaked in ("sending to +91 98120 00001", "member TST1000001", "row (कमला देवी वर्मा)",
                   "9812000001", "staff3@example.test logged in"):
        before = len(guard.leaks)
        guard.emit(logging.makeLogRecord({"msg": leaked, "levelname": "INFO"}))
        assert len(guard.leaks) == before + 1, leaked
    guard.emit(logging.makeLogRecord({"msg": "page 199, 10,001 rows, +91 ••••••••01"}))
    assert len(guard.leaks) == 5
