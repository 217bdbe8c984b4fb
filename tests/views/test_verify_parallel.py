"""Parallel code sends and checks on a real, committed database (SQLite file or PostgreSQL).

These run outside the per-test rolled-back transaction: each thread is its own
request with its own connection, as under a threaded or multi-process server.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select

from backoffice import sms
from backoffice.audit import chain
from backoffice.extensions import db
from backoffice.models import AuditEvent, Member, PhoneRecord, PhoneVerification, StaffUser
from backoffice.services import verification
from tests.conftest import Browser
from tests.services.test_workflow import _committed_race_fixture, _remove_race_fixture

PARALLEL = 20


@pytest.fixture
def race(make_app):
    """An app on the committed database and a member waiting for a code, removed after."""
    app = make_app(WTF_CSRF_ENABLED=False, OTP_PHONE_LIMIT="1000/hour",
                   OTP_IP_LIMIT="1000/hour", OTP_ENROLLER_LIMIT="1000/hour")
    with app.app_context(), app.test_request_context():
        created = _committed_race_fixture()
        member = db.session.get(Member, created["member"])
        member.status = "recorded"
        db.session.commit()
        created["phone"] = member.mobile
    yield app, created
    with app.app_context():
        db.session.execute(delete(PhoneVerification).where(
            PhoneVerification.member_id == created["member"]))
        db.session.execute(delete(PhoneRecord).where(PhoneRecord.phone == created["phone"]))
        db.session.commit()
        _remove_race_fixture(created)


def _run(app, created, data_for, count=PARALLEL) -> list[int]:
    """POST the verify step ``count`` times at once as the block president; the statuses."""
    with app.app_context():
        user = db.session.get(StaffUser, created["users"][0])
        browsers = [Browser(app, user) for _ in range(count)]
    statuses, start = [], threading.Barrier(count)

    def post(b, n):
        start.wait(10)
        statuses.append(b.client.post(f"/admin/members/verify/?id={created['member']}",
                                      data=data_for(n)).status_code)

    threads = [threading.Thread(target=post, args=(b, n)) for n, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def test_parallel_sends_to_one_member_deliver_exactly_one_code(race):
    app, created = race
    statuses = _run(app, created, lambda n: {"step": "send"})
    assert sorted(statuses) == [302] * PARALLEL  # every request answered, none with a 5xx
    with app.app_context():
        assert [m.phone for m in sms.gateway().outbox] == [created["phone"]]
        rows = db.session.scalars(select(PhoneVerification).where(
            PhoneVerification.member_id == created["member"])).all()
        assert [(row.status, row.sends) for row in rows] == [("pending", 1)]


def test_parallel_checks_answer_without_a_server_error(race):
    app, created = race
    with app.app_context(), app.test_request_context():
        member = db.session.get(Member, created["member"])
        assert verification.send_code(member).ok
        db.session.commit()
        code = sms.gateway().last_code_for(created["phone"])
    wrong = "000000" if code != "000000" else "111111"
    statuses = _run(app, created, lambda n: {"step": "check", "code": wrong})
    assert sorted(statuses) == [302] * PARALLEL
    with app.app_context():
        row = db.session.scalars(select(PhoneVerification).where(
            PhoneVerification.member_id == created["member"])).one()
        assert row.checks == app.config["OTP_MAX_CHECKS"]  # the cap held under the flood
        # the requests left their events to the process's background appender
        assert chain.caught_up(db.engine, timeout=60)
        checks = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "otp.check", AuditEvent.entity_id == created["member"]))
        assert checks == app.config["OTP_MAX_CHECKS"]
