"""Events written with their change and chained after the commit (docs/audit-log.md,
"Throughput"): gap-free under concurrent writers, never lost when an appender dies,
counted by verify while they wait, append-only while they wait."""

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from backoffice import audit
from backoffice.audit import chain
from backoffice.audit.events import PENDING
from backoffice.audit.verify import verify_chain
from backoffice.db_cli import grant_statements
from backoffice.extensions import db
from backoffice.models import AuditEvent, AuditHead
from backoffice.models.audit import AuditPending
from tests.audit.test_chain import some_events, without_guards
from tests.conftest import POSTGRES_URL

postgres_only = [pytest.mark.postgres_only,
                 pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL")]
ROOT = Path(__file__).resolve().parents[2]


def queue(n: int, action: str = "test.pending") -> None:
    """n events written into audit_pending in the test's transaction, as a commit on
    PostgreSQL writes them."""
    db.session.commit()  # the fixtures' own events go into the chain first
    for i in range(n):
        audit.record(action, details={"i": i})
    events = db.session().info.pop(PENDING)
    chain.queue(db.session.connection(), events)


def pending_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditPending))


def test_waiting_events_are_counted_then_chained_after_the_chain(ctx, units):
    base = some_events(units, 2)
    queue(3)
    report = verify_chain(db.session)
    assert report.ok and report.checked == base + 2
    assert report.pending == 3 and report.pending_since is not None
    assert chain.chain_pending(db.session.connection()) == 3
    report = verify_chain(db.session)
    assert report.ok and report.checked == base + 5 and report.pending == 0
    chained = db.session.scalars(select(AuditEvent).where(AuditEvent.seq > base + 2)
                                 .order_by(AuditEvent.seq)).all()
    assert [json.loads(e.details)["i"] for e in chained] == [0, 1, 2]
    assert db.session.get(AuditHead, 1).seq == base + 5
    assert pending_count() == 0


def test_an_event_chained_by_the_appender_is_named_when_tampered_with(ctx, units):
    base = some_events(units, 1)
    queue(3)
    chain.chain_pending(db.session.connection())
    without_guards(f"UPDATE audit_event SET details = '{{}}' WHERE seq = {base + 3}")
    report = verify_chain(db.session)
    assert not report.ok and report.broken_at == base + 3


def _refused(statement: str, dialect: str) -> None:
    with pytest.raises((IntegrityError, DBAPIError), match="append-only"):
        with db.session.begin_nested():
            if dialect == "postgresql":  # the chained-copy check runs at commit: now
                db.session.execute(text("SET CONSTRAINTS audit_pending_chained IMMEDIATE"))
            db.session.execute(text(statement))


def test_a_waiting_event_cannot_be_changed_or_dropped(ctx, units, dialect):
    queue(1)
    waiting = db.session.scalar(select(AuditPending.id))
    _refused(f"UPDATE audit_pending SET action = 'x' WHERE id = {waiting}", dialect)
    _refused(f"DELETE FROM audit_pending WHERE id = {waiting}", dialect)
    # A made-up chained copy with other content does not let it go either.
    db.session.execute(AuditEvent.__table__.insert().values(
        seq=10 ** 9, occurred_at="2026-01-01T00:00:00", actor_roles="[]", action="test.other",
        changes="{}", details="{}", prev_hash="c" * 64, row_hash="d" * 64, pending_id=waiting))
    _refused(f"DELETE FROM audit_pending WHERE id = {waiting}", dialect)
    assert pending_count() == 1


@pytest.mark.skipif(not POSTGRES_URL, reason="roles are PostgreSQL's")
def test_the_apps_role_cannot_change_drop_or_truncate_waiting_events(ctx, units):
    queue(1)
    connection = db.session.connection()
    connection.execute(text("CREATE ROLE sadasya_pending_probe NOLOGIN"))
    for statement in grant_statements("sadasya_pending_probe"):
        connection.exec_driver_sql(statement)
    for statement in ("UPDATE audit_pending SET action = 'x'", "DELETE FROM audit_pending",
                      "TRUNCATE audit_pending"):
        with pytest.raises(DBAPIError, match="permission denied|append-only"):
            with db.session.begin_nested():
                db.session.execute(text("SET LOCAL ROLE sadasya_pending_probe"))
                db.session.execute(text("SET CONSTRAINTS audit_pending_chained IMMEDIATE"))
                db.session.execute(text(statement))
        db.session.execute(text("RESET ROLE"))
    assert pending_count() == 1


@pytest.mark.postgres_only
@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL with real concurrency")
def test_sixteen_writers_in_two_processes_leave_one_gap_free_chain(make_app):
    """Two apps stand for two server processes (each has its own appender); 8 threads
    each commit 20 transactions of 1 to 3 events."""
    apps = [make_app(), make_app()]
    start = threading.Barrier(16)
    errors = []

    def writer(app, n):
        try:
            with app.app_context():
                start.wait(30)
                for i in range(20):
                    for k in range(1 + (n + i) % 3):
                        audit.record("test.sixteen", details={"writer": n, "i": i, "k": k})
                    db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(apps[n % 2], n)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    with apps[0].app_context():
        report = verify_chain(db.session)
        assert report.ok, report
        written = [json.loads(details) for details in db.session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "test.sixteen")
            .order_by(AuditEvent.seq))]
        expected = {(n, i, k) for n in range(16) for i in range(20)
                    for k in range(1 + (n + i) % 3)}
        assert sorted((e["writer"], e["i"], e["k"]) for e in written) == sorted(expected)
        for n in range(16):  # each writer's events in the order it committed them
            own = [(e["i"], e["k"]) for e in written if e["writer"] == n]
            assert own == sorted(own)
        # Every commit returned with its events chained: none waits.
        assert db.session.scalar(select(func.count()).select_from(AuditPending).where(
            AuditPending.action == "test.sixteen")) == 0


KILLED = textwrap.dedent("""
    import os, signal, sys
    from backoffice import audit, create_app
    from backoffice.audit import chain
    from backoffice.extensions import db
    from tests.conftest import base_config
    from pathlib import Path

    def die(*args, **kwargs):
        if sys.argv[2] == "in-round":  # inside the round's transaction, before its commit
            original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    if sys.argv[2] == "in-round":
        original, chain.chain_pending = chain.chain_pending, die
    else:  # the process dies between the commit and its chaining
        chain.settle = die
    app = create_app(base_config(os.environ["BACKOFFICE_TEST_DATABASE_URL"], Path(sys.argv[1])))
    with app.app_context():
        audit.record("test.killed", details={"run": sys.argv[1]})
        db.session.commit()
""")


@pytest.mark.postgres_only
@pytest.mark.skipif(not POSTGRES_URL, reason="the deferred appender is PostgreSQL's")
@pytest.mark.parametrize("when", ["after-commit", "in-round"])
def test_events_of_a_killed_appender_wait_and_are_chained_by_the_next_commit(make_app,
                                                                              tmp_path, when):
    died = subprocess.run([sys.executable, "-c", KILLED, str(tmp_path), when], cwd=ROOT,
                          env=os.environ | {"PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, check=False, timeout=120)
    assert died.returncode == -9, died.stderr[-2000:]
    ours = json.dumps({"run": str(tmp_path)}, separators=(",", ":"))
    app = make_app()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.details == ours)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditPending).where(
            AuditPending.details == ours)) == 1
        db.session.rollback()
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "OK" in verified.output and "waiting to be chained" in verified.output
    with app.app_context():  # any later commit with events chains what waits first
        audit.record("test.after_kill")
        db.session.commit()
        actions = db.session.scalars(select(AuditEvent.details).where(
            AuditEvent.action.in_(["test.killed", "test.after_kill"]))
            .order_by(AuditEvent.seq.desc()).limit(2)).all()
        assert actions == ["{}", ours]
        assert verify_chain(db.session).ok
        db.session.rollback()
    again = app.test_cli_runner().invoke(args=["audit", "chain"])
    assert again.exit_code == 0 and "Chained 0" in again.output
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and "waiting" not in verified.output


def _recording_route(app) -> None:
    """A page that records one event per request and commits, as the app's pages do."""
    def record_one(n: int):
        audit.record("test.background", details={"n": n})
        db.session.commit()
        return "ok"

    app.add_url_rule("/test-record/<int:n>", "test_record", record_one, methods=["POST"])


@pytest.mark.postgres_only
@pytest.mark.skipif(not POSTGRES_URL, reason="the background appender is PostgreSQL's")
def test_web_requests_leave_chaining_to_a_background_appender_and_the_chain_stays_whole(
        make_app, monkeypatch):
    """Requests return without running a round themselves (the thread serving them is
    free); each process's background thread chains what they committed, in one
    gap-free chain across two processes."""
    ran_in_request = []
    original = chain.settle

    def watched_settle(engine):
        from flask import has_request_context
        ran_in_request.append(has_request_context())
        return original(engine)

    monkeypatch.setattr(chain, "settle", watched_settle)
    apps = [make_app(WTF_CSRF_ENABLED=False), make_app(WTF_CSRF_ENABLED=False)]
    for app in apps:
        _recording_route(app)
    start = threading.Barrier(8)
    errors = []

    def client(app, n):
        try:
            with app.test_client() as browser:
                start.wait(30)
                for i in range(10):
                    answer = browser.post(f"/test-record/{n * 100 + i}")
                    assert answer.status_code == 200, answer.status_code
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=client, args=(apps[n % 2], n)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert True not in ran_in_request  # no request waited for a round
    for app in apps:
        with app.app_context():
            assert chain.caught_up(db.engine, timeout=60)
    with apps[0].app_context():
        assert verify_chain(db.session).ok
        numbers = sorted(json.loads(details)["n"] for details in db.session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "test.background")))
        # other runs' events may be there too (the log is append-only): ours all are
        assert {n * 100 + i for n in range(8) for i in range(10)} <= set(numbers)
        assert db.session.scalar(select(func.count()).select_from(AuditPending).where(
            AuditPending.action == "test.background")) == 0
        db.session.rollback()


@pytest.mark.postgres_only
@pytest.mark.skipif(not POSTGRES_URL, reason="the background appender is PostgreSQL's")
def test_a_failed_background_round_leaves_events_waiting_for_the_workers_maintenance(
        make_app, monkeypatch, caplog):
    from backoffice import jobs

    app = make_app(WTF_CSRF_ENABLED=False)
    _recording_route(app)
    marker = 900_000 + int.from_bytes(os.urandom(2), "big")

    def broken(connection, limit=chain.BATCH):
        raise DBAPIError("SELECT", {}, OSError("the database went away"))

    monkeypatch.setattr(chain, "chain_pending", broken)
    with app.test_client() as browser:
        assert browser.post(f"/test-record/{marker}").status_code == 200  # the change stands
    with app.app_context():
        assert chain.caught_up(db.engine, timeout=60)
        ours = select(func.count()).select_from(AuditPending).where(
            AuditPending.action == "test.background",
            AuditPending.details == json.dumps({"n": marker}, separators=(",", ":")))
        assert db.session.scalar(ours) == 1  # kept, waiting
        db.session.rollback()
    assert "not chained yet" in caplog.text
    monkeypatch.undo()
    with app.test_request_context():
        assert jobs.maintain()["audit_chained"] >= 1
        assert db.session.scalar(ours) == 0
        assert verify_chain(db.session).ok
        db.session.rollback()


@pytest.mark.postgres_only
@pytest.mark.skipif(not POSTGRES_URL, reason="the background appender is PostgreSQL's")
def test_disposing_the_engine_right_after_a_request_waits_for_its_round_and_leaves_no_connection(
        make_app):
    """The appender lingers after a commit (LINGER_SECONDS). An engine disposed in that
    moment (a test's end, a command's, a fork) gets its events chained first, and the
    round's connection is closed, not left in the new pool."""
    app = make_app(WTF_CSRF_ENABLED=False)
    _recording_route(app)
    marker = 800_000 + int.from_bytes(os.urandom(2), "big")
    with app.test_client() as browser:
        assert browser.post(f"/test-record/{marker}").status_code == 200
    with app.app_context():
        engine = db.engine
        engine.dispose()  # at once: the round has not run yet
        assert engine.pool.checkedin() == 0 and engine.pool.checkedout() == 0
        with engine.connect() as connection:  # a fresh connection, to look
            chained = connection.execute(
                select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.action == "test.background",
                    AuditEvent.details == json.dumps({"n": marker}, separators=(",", ":")))
            ).scalar()
        assert chained == 1
        engine.dispose()
