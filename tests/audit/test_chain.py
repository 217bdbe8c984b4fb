"""The audit log's guarantees (docs/audit-log.md, "Tests that prove it")."""

import base64
import json
import threading

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from backoffice import audit
from backoffice.audit import chain
from backoffice.audit.capture import AuditRefused
from backoffice.audit.verify import (
    checkpoint,
    load_private_key,
    new_key,
    verify_chain,
    verify_checkpoint,
)
from backoffice.extensions import db
from backoffice.models import AuditEvent, AuditHead, Member
from backoffice.services import workflow
from tests import factories
from tests.conftest import POSTGRES_URL


def events(action=None):
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if action:
        query = query.where(AuditEvent.action == action)
    return db.session.scalars(query).all()


def some_events(units, n=6) -> int:
    """Add n events after whatever the fixtures logged; return the position before them."""
    db.session.commit()
    base = db.session.get(AuditHead, 1).seq
    for i in range(n):
        audit.record("test.event", details={"i": i}, unit_id=units["BLK-BILHA"].id)
    db.session.commit()
    return base


def without_guards(statement: str):
    """Run raw SQL on the log with its append-only triggers out of the way (rolled back
    with the test): what a database superuser could do."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
        connection.exec_driver_sql(statement)
        for trigger in ("audit_no_update_delete", "audit_no_truncate"):
            connection.exec_driver_sql(f"ALTER TABLE audit_event ENABLE ALWAYS TRIGGER {trigger}")
    else:
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_no_update")
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_no_delete")
        connection.exec_driver_sql(statement)


def test_a_clean_chain_verifies(ctx, units):
    base = some_events(units)
    report = verify_chain(db.session)
    assert report.ok and report.checked == base + 6


@pytest.mark.parametrize(
    ("tamper", "position"),
    [
        ("UPDATE audit_event SET details = '{{\"i\":99}}' WHERE seq = {3}", 3),
        ("UPDATE audit_event SET action = 'test.other' WHERE seq = {5}", 5),
        ("DELETE FROM audit_event WHERE seq = {4}", 4),
        # reorder: swap the bodies of the 2nd and 3rd, keeping their positions
        ("UPDATE audit_event SET details = CASE seq WHEN {2} THEN '{{\"i\":2}}' "
         "ELSE '{{\"i\":1}}' END WHERE seq IN ({2}, {3})", 2),
        ("DELETE FROM audit_event WHERE seq = {6}", 6),  # the last: the head disagrees
    ],
)
def test_a_tampered_row_is_named_at_its_exact_position(ctx, units, tamper, position):
    base = some_events(units)
    without_guards(tamper.format(*(base + k for k in range(7))))
    report = verify_chain(db.session)
    assert not report.ok and report.broken_at == base + position, report


def test_an_inserted_row_breaks_the_chain_where_it_was_put(ctx, units):
    base = some_events(units)
    later = [{c.name: getattr(r, c.name) for c in AuditEvent.__table__.columns}
             for r in db.session.scalars(select(AuditEvent).where(AuditEvent.seq > base + 3)
                                         .order_by(AuditEvent.seq))]
    without_guards(f"DELETE FROM audit_event WHERE seq > {base + 3}")
    forged = dict(later[0], seq=base + 4, action="test.forged", prev_hash="a" * 64,
                  row_hash="b" * 64)
    db.session.execute(AuditEvent.__table__.insert(), [forged] + [
        dict(row, seq=row["seq"] + 1) for row in later])
    assert verify_chain(db.session).broken_at == base + 4


def test_a_full_rewrite_passes_inside_but_fails_against_an_earlier_checkpoint(ctx, units,
                                                                               tmp_path):
    base = some_events(units)
    key = load_private_key(_key(tmp_path))
    trusted = [base64.b64encode(key.public_key().public_bytes_raw()).decode()]
    signed = checkpoint(db.session, key)
    assert signed["seq"] == base + 6 and verify_checkpoint(db.session, signed, trusted).ok
    # Someone with the database rewrites event 2 and recomputes every hash after it.
    rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    forged = [{c: getattr(r, c) for c in chain.HASHED_FIELDS} for r in rows]
    forged[base + 1]["details"] = '{"i":42}'
    prev = "0" * 64
    without_guards("DELETE FROM audit_event")
    for event in forged:
        event["prev_hash"], event["row_hash"] = prev, chain.row_hash(prev, event)
        prev = event["row_hash"]
        db.session.execute(AuditEvent.__table__.insert().values(**event))
    db.session.execute(update(AuditHead).values(row_hash=prev))
    assert verify_chain(db.session).ok  # the rewrite is consistent with itself
    report = verify_checkpoint(db.session, signed, trusted)
    assert not report.ok and "rewritten" in report.problem
    forged_signature = dict(signed, row_hash=prev)
    assert "not signed by a trusted key" in verify_checkpoint(db.session, forged_signature,
                                                              trusted).problem


def _key(tmp_path):
    path = tmp_path / "keys" / "audit.pem"
    new_key(path)
    assert oct(path.stat().st_mode)[-3:] == "600"
    return path


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET action = 'x'",
                                       "DELETE FROM audit_event"])
def test_the_log_refuses_updates_and_deletes(ctx, units, statement):
    some_events(units, 2)
    with pytest.raises((IntegrityError, DBAPIError), match="append-only"):
        with db.session.begin_nested():
            db.session.execute(text(statement))


@pytest.mark.skipif(not POSTGRES_URL, reason="TRUNCATE and roles are PostgreSQL's")
def test_the_apps_role_cannot_truncate_rewrite_or_switch_off_the_triggers(ctx, units):
    """Deployments connect as a role that may only read and append (README)."""
    some_events(units, 2)
    connection = db.session.connection()
    connection.execute(text("CREATE ROLE sadasya_app_probe NOLOGIN"))
    connection.execute(text("GRANT USAGE ON SCHEMA public TO sadasya_app_probe"))
    connection.execute(text("GRANT SELECT, INSERT ON audit_event TO sadasya_app_probe"))
    for statement, expected in [
        ("TRUNCATE audit_event", "permission denied|append-only"),
        ("UPDATE audit_event SET action = 'x'", "permission denied|append-only"),
        ("DELETE FROM audit_event", "permission denied|append-only"),
        ("SET session_replication_role = replica", "permission denied"),
        ("ALTER TABLE audit_event DISABLE TRIGGER ALL", "must be owner"),
    ]:
        with pytest.raises(DBAPIError, match=expected):
            with db.session.begin_nested():  # a savepoint: the failure is undone alone
                db.session.execute(text("SET LOCAL ROLE sadasya_app_probe"))
                db.session.execute(text(statement))
        db.session.execute(text("RESET ROLE"))
    # Even the owner in replica mode: ENABLE ALWAYS keeps the guard on.
    with pytest.raises(DBAPIError, match="append-only"):
        with db.session.begin_nested():
            db.session.execute(text("SET LOCAL session_replication_role = replica"))
            db.session.execute(text("DELETE FROM audit_event"))
    db.session.execute(text("RESET session_replication_role"))
    with pytest.raises(DBAPIError, match="append-only"):
        with db.session.begin_nested():
            db.session.execute(text("TRUNCATE audit_event"))


def test_a_rollback_leaves_neither_the_change_nor_its_event(ctx, units, staff):
    member = factories.member(units["BLK-BILHA"], status="phone_verified")
    db.session.commit()
    before = len(events())
    workflow.apply(staff["bilha"], "approve", [member.id])
    db.session.rollback()
    assert len(events()) == before
    assert db.session.get(Member, member.id).status == "phone_verified"


def test_a_failed_audit_write_aborts_the_change(ctx, units, staff, monkeypatch):
    member = factories.member(units["BLK-BILHA"], status="phone_verified")
    db.session.commit()
    before = len(events())

    def broken(connection, pending):
        raise RuntimeError("disk full")

    monkeypatch.setattr(chain, "append", broken)
    with pytest.raises(RuntimeError, match="disk full"):  # at a flush or at the commit
        workflow.apply(staff["bilha"], "approve", [member.id])
        db.session.commit()
    db.session.rollback()
    monkeypatch.undo()
    assert db.session.get(Member, member.id).status == "phone_verified"
    assert len(events()) == before


def test_bulk_statements_on_audited_tables_are_refused(ctx, units):
    factories.member(units["BLK-BILHA"])
    for statement in (update(Member).values(status="approved"), delete(Member)):
        with pytest.raises(AuditRefused):
            db.session.execute(statement)


@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL with real concurrency")
def test_eight_concurrent_writers_leave_one_valid_chain(make_app):
    app = make_app()
    start = threading.Barrier(8)
    errors = []

    def writer(n):
        try:
            with app.app_context():
                start.wait(10)
                for i in range(25):
                    audit.record("test.concurrent", details={"writer": n, "i": i})
                    db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    with app.app_context():
        first = db.session.get(AuditHead, 1).seq
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with app.app_context():
        head = db.session.get(AuditHead, 1)
        assert head.seq == first + 200
        report = verify_chain(db.session)
        assert report.ok, report
        writers = {json.loads(e.details)["writer"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "test.concurrent"))}
        assert writers == set(range(8))
