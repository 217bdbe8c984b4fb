"""Binds Flask-SQLAlchemy to the app and gives SQLite the behaviour we rely on."""

from __future__ import annotations

import sqlite3

from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from backoffice.extensions import db

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# What a request may take on PostgreSQL (docs/postgresql.md); jobs and CLI commands lift them.
_TIMEOUTS = (("statement_timeout", "DATABASE_STATEMENT_TIMEOUT_MS"),
             ("lock_timeout", "DATABASE_LOCK_TIMEOUT_MS"),
             ("idle_in_transaction_session_timeout", "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS"))
_LIFT_TIMEOUTS = "; ".join(f"SET LOCAL {name} = 0" for name, _ in _TIMEOUTS)


def init_app(app: Flask) -> None:
    _postgresql_options(app)
    db.init_app(app)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "begin", _postgresql_begin)


def _postgresql_options(app: Flask) -> None:
    """The pool each process keeps and the time-outs every connection starts with."""
    config = app.config
    if make_url(config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "postgresql":
        return
    options = {"pool_size": config["DATABASE_POOL_SIZE"],
               "max_overflow": config["DATABASE_MAX_OVERFLOW"],
               "pool_timeout": config["DATABASE_POOL_TIMEOUT"],
               "pool_recycle": config["DATABASE_POOL_RECYCLE"]}
    settings = " ".join(f"-c {name}={int(config[key])}" for name, key in _TIMEOUTS)
    engine_options = config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
    connect_args = dict(engine_options.get("connect_args", {}))
    connect_args["options"] = " ".join(filter(None, (connect_args.get("options"), settings)))
    # A server that is down or unreachable fails the request in seconds (libpq: at least 2).
    connect_args.setdefault("connect_timeout", int(config["DATABASE_CONNECT_TIMEOUT"]))
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, **engine_options,
                                           "connect_args": connect_args}


# PostgreSQL's answers that mean "the server is not there for now", not "this statement
# failed": connection errors (class 08), and a server shutting down or starting up.
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03")


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached right now (docs/faults.md).

    A connection that broke is dropped by SQLAlchemy together with every other pooled
    connection older than it (the pool is invalidated), so the next request connects
    afresh: recovery needs no pre-ping and no restart of the app.
    """
    if isinstance(error, PoolTimeout):  # every pooled connection busy past the pool time-out
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    state = getattr(original, "sqlstate", None)
    if state is None:
        # psycopg raises its bare OperationalError when it cannot connect at all
        return type(original).__name__ == "OperationalError" and \
            type(original).__module__.startswith("psycopg")
    return state.startswith(_UNAVAILABLE_STATES)


def long_statements() -> None:
    """Let this context's transactions run without the web's time-outs (a job)."""
    g.database_long_statements = True


# An execution option for a connection whose every transaction is short and bounded
# (the audit chain's rounds): it keeps the request time-outs wherever it runs.
BOUNDED = "bounded_transactions"


def _postgresql_begin(connection) -> None:
    """Jobs and CLI commands (exports, imports, roll files, audit verify) may run long."""
    if connection.get_execution_options().get(BOUNDED):
        return
    if not has_request_context() or g.get("database_long_statements", False):
        connection.exec_driver_sql(_LIFT_TIMEOUTS)


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session has loaded.

    For a request that only builds its answer from the rows it has just written (a
    redirect after a save, the audit event of an SMS sent after its claim committed):
    reading them again after an ordinary commit costs a SELECT per row for values
    this transaction itself wrote. The next ordinary commit expires them as usual.
    """
    session = db.session()
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = before


def writes() -> None:
    """Declare that this GET request writes (a download that logs itself).

    Requests with other methods write by default. Call it at the start of the
    view: the read-only transaction the request may have begun (loading the
    user) is ended, so the next one begins as a writer. See docs/sqlite.md.
    """
    g.database_writes = True
    db.session.commit()


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record) -> None:
    """Foreign keys on, WAL, a busy wait; and let SQLAlchemy own BEGIN.

    pysqlite's own transaction handling breaks SAVEPOINT (used by nested
    transactions and the test suite), so it is switched off and BEGIN is
    emitted in _sqlite_begin, as SQLAlchemy's documentation recommends.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    """A writing request's transactions take the write lock at BEGIN (docs/sqlite.md).

    A deferred transaction that reads and then writes fails at once with
    "database is locked" if another connection committed in between: the
    busy wait does not apply to it. BEGIN IMMEDIATE waits its turn instead.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE" if _writing_request() else "BEGIN")


def _writing_request() -> bool:
    if not has_request_context():
        return False
    return request.method not in READ_ONLY_METHODS or g.get("database_writes", False)
