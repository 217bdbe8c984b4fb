"""Positions and hashes: the chain is extended under a lock on its head row.

The head row is locked by an UPDATE ... RETURNING that also reserves the
positions (PostgreSQL: a row lock, re-read after waiting under READ
COMMITTED; SQLite: the database's write lock). Concurrent writers queue up
and the chain never forks (tests/audit: 8 writers on PostgreSQL).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from backoffice.audit.events import canonical
from backoffice.models import AuditEvent, AuditHead

HASHED_FIELDS = (
    "seq", "occurred_at", "actor_user_id", "actor_roles", "source_ip", "request_id",
    "session_ref", "action", "entity_type", "entity_id", "unit_id", "changes", "reason",
    "details",
)


def row_hash(prev_hash: str, event: dict) -> str:
    """SHA-256(0x00 || prev_hash || canonical JSON of the event), as RFC 6962 leaves."""
    body = canonical({name: event.get(name) for name in HASHED_FIELDS}).encode()
    return hashlib.sha256(b"\x00" + bytes.fromhex(prev_hash) + body).hexdigest()


# Built once: a signup's commit runs them, and building statements costs more than
# SQLite takes to run them.
_LOCK = (select(AuditHead.seq, AuditHead.row_hash).where(AuditHead.id == 1)
         .with_for_update())
_RESERVE = (update(AuditHead).where(AuditHead.id == 1)
            .values(seq=AuditHead.seq + bindparam("count"))
            .returning(AuditHead.seq, AuditHead.row_hash))
_SET_HEAD = (update(AuditHead).where(AuditHead.id == 1)
             .values(seq=bindparam("last"), row_hash=bindparam("digest")))
_APPEND = insert(AuditEvent)


def _reserve(connection: Connection, count: int) -> tuple[int, str]:
    """Lock the head row; return the last position and hash before ours.

    PostgreSQL: SELECT ... FOR UPDATE (a row lock; READ COMMITTED re-reads the
    newest head after any wait). SQLite: an UPDATE ... RETURNING takes the
    database's write lock as it reads.
    """
    if connection.dialect.name == "postgresql":
        return tuple(connection.execute(_LOCK).one())
    last, prev = connection.execute(_RESERVE, {"count": count}).one()
    return last - count, prev


def append(connection: Connection, events: list[dict]) -> int:
    """Write the events at the end of the chain; return the last position."""
    seq, prev = _reserve(connection, len(events))
    rows = []
    for event in events:
        seq += 1
        row = dict(event, seq=seq, prev_hash=prev)
        row["row_hash"] = prev = row_hash(prev, row)
        rows.append(row)
    connection.execute(_APPEND, rows)
    connection.execute(_SET_HEAD, {"last": seq, "digest": prev})
    return seq
