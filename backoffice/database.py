"""Binds Flask-SQLAlchemy to the app and gives SQLite the behaviour we rely on."""

from __future__ import annotations

import sqlite3

from flask import Flask
from sqlalchemy import event

from backoffice.extensions import db


def init_app(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)


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
    connection.exec_driver_sql("BEGIN")
