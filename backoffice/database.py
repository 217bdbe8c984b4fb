"""Binds Flask-SQLAlchemy to the app and gives SQLite the behaviour we rely on."""

from __future__ import annotations

import sqlite3

from flask import Flask, g, has_request_context, request
from sqlalchemy import event

from backoffice.extensions import db

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)


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
