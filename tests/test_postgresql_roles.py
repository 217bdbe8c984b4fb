"""PostgreSQL in production: the app's own role, its time-outs and its pool (docs/postgresql.md).

The app connects as a role that owns nothing, granted by `backoffice db grant-app-role`;
these tests create such a role (sadasya_test_...), connect a real app with it and drop
it after. Its rows are committed for real and removed after (its audit events stay).
"""

from __future__ import annotations

import os
import time

import pytest
from flask_migrate import downgrade, upgrade
from flask_migrate.cli import db as migrate_cli
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from backoffice.extensions import db
from backoffice.models import AuditEvent
from tests.conftest import POSTGRES_URL
from tests.services.test_workflow import _committed_race_fixture, _remove_race_fixture

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL"),
]
PASSWORD = "sadasya-test-app"  # noqa: S105 - a throwaway role, dropped after the test


@pytest.fixture
def app_role(database_url, make_app):
    """A login role granted as documented; its URL. Dropped after."""
    role = f"sadasya_test_app_{os.getpid()}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
    owner = make_app()
    result = owner.test_cli_runner().invoke(migrate_cli, ["grant-app-role", role])
    assert result.exit_code == 0, result.output
    try:
        yield make_url(POSTGRES_URL).set(username=role, password=PASSWORD).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as connection:  # the test's apps still hold connections
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE usename = '{role}'")
            connection.exec_driver_sql(f"DROP OWNED BY {role}")
            connection.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_the_app_role_records_members_but_cannot_rewrite_the_audit_log(app_role, make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=app_role)
    with app.app_context(), app.test_request_context():
        before = db.session.scalar(select(func.max(AuditEvent.seq))) or 0
        created = _committed_race_fixture()  # units, staff and a member, as the app role
        try:
            appended = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                         .where(AuditEvent.seq > before))
            assert appended > 0
        finally:
            _remove_race_fixture(created)
        with db.engine.connect() as connection:
            for statement in ("UPDATE audit_event SET reason = 'rewritten'",
                              "DELETE FROM audit_event",
                              "TRUNCATE audit_event",
                              "ALTER TABLE audit_event DISABLE TRIGGER ALL",
                              "ALTER TABLE audit_event DISABLE TRIGGER audit_no_update_delete",
                              "DROP TRIGGER audit_no_update_delete ON audit_event",
                              "SET session_replication_role = replica",
                              "DELETE FROM audit_head",
                              "UPDATE alembic_version SET version_num = 'x'"):
                with pytest.raises(DBAPIError, match="permission denied|must be owner"):
                    connection.exec_driver_sql(statement)
                connection.rollback()
        assert db.session.scalar(select(func.max(AuditEvent.seq))) >= before + appended


def test_the_grant_command_refuses_a_role_that_owns_or_is_superuser(make_app):
    result = make_app().test_cli_runner().invoke(migrate_cli, ["grant-app-role", "postgres"])
    assert result.exit_code != 0
    assert "must own nothing" in result.output


def test_settings_reach_the_connection_and_the_pool(make_app):
    app = make_app(DATABASE_STATEMENT_TIMEOUT_MS=1500, DATABASE_LOCK_TIMEOUT_MS=700,
                   DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS=9000, DATABASE_POOL_SIZE=3,
                   DATABASE_MAX_OVERFLOW=2, DATABASE_POOL_TIMEOUT=4)
    with app.app_context():
        assert (db.engine.pool.size(), db.engine.pool._max_overflow) == (3, 2)
        with app.test_request_context():  # a request: the web's time-outs
            shown = [db.session.scalar(text(f"SHOW {name}")) for name in
                     ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")]
            assert shown == ["1500ms", "700ms", "9s"]
            db.session.rollback()
        # Outside a request (CLI commands; jobs say so themselves): none, they may run long.
        assert db.session.scalar(text("SHOW statement_timeout")) == "0"
        db.session.rollback()


def test_a_job_runs_without_the_web_time_outs(make_app):
    from backoffice import database

    app = make_app(DATABASE_STATEMENT_TIMEOUT_MS=100)
    with app.app_context(), app.test_request_context():
        database.long_statements()
        assert db.session.scalar(text("SELECT pg_sleep(0.3)::text || 'done'")) == "done"
        db.session.rollback()


def test_an_audit_round_outside_a_request_keeps_the_lock_time_out(make_app):
    """A round is short: outside a request too (a CLI command, the background
    appender) it waits for the chain's head no longer than a request would, so a
    stuck holder of the head does not stall chaining for ever; the next round chains."""
    import threading

    from backoffice.audit import chain

    app = make_app(DATABASE_LOCK_TIMEOUT_MS=300)
    holder = create_engine(POSTGRES_URL)
    held = holder.connect()
    held.exec_driver_sql("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
    release = threading.Timer(20, held.rollback)  # bounds the test if the round waited
    release.start()
    try:
        with app.app_context():
            with pytest.raises(DBAPIError, match="lock"):
                chain.chain_all(db.engine)
            held.rollback()
            chain.chain_all(db.engine)
            # a command's own transactions still run without the web's time-outs
            assert db.session.scalar(text("SHOW lock_timeout")) == "0"
            db.session.rollback()
    finally:
        release.cancel()
        held.close()
        holder.dispose()


def test_a_slow_statement_fails_fast_with_an_error_page(make_app):
    app = make_app(DATABASE_STATEMENT_TIMEOUT_MS=200)

    def slow():
        db.session.execute(text("SELECT pg_sleep(20)"))
        return "finished"

    app.add_url_rule("/test-slow", view_func=slow)
    started = time.monotonic()
    client = app.test_client()
    client.set_cookie("lang", "en")
    response = client.get("/test-slow")
    assert time.monotonic() - started < 10  # the 20-second statement was cancelled
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)


def _version() -> str:
    return db.session.scalar(text("SELECT version_num FROM alembic_version"))


def test_migrations_run_with_their_own_url(app_role, make_app):
    """The app's role cannot change the schema; MIGRATION_DATABASE_URL's owner can."""
    as_app = make_app(SQLALCHEMY_DATABASE_URI=app_role)
    with as_app.app_context():
        head = _version()
        db.session.rollback()
        with pytest.raises(DBAPIError, match="must be owner|permission denied"):
            downgrade(revision="-1")
        assert _version() == head
        db.session.rollback()
    both = make_app(SQLALCHEMY_DATABASE_URI=app_role, MIGRATION_DATABASE_URL=POSTGRES_URL)
    with both.app_context():
        downgrade(revision="-1")
        try:
            assert _version() not in (head, None)
            db.session.rollback()
        finally:
            upgrade()
        assert _version() == head
