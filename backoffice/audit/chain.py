"""Positions and hashes: the chain is extended under a lock on its head row.

PostgreSQL: SELECT ... FOR UPDATE on audit_head (READ COMMITTED re-reads the
latest head after waiting). SQLite: a no-op UPDATE of the head takes the
database's write lock first. Either way concurrent writers queue up and the
chain never forks (tests/audit: 8 writers on PostgreSQL).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import insert, select, update
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


def _lock_head(connection: Connection) -> tuple[int, str]:
    query = select(AuditHead.seq, AuditHead.row_hash).where(AuditHead.id == 1)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    else:
        connection.execute(update(AuditHead).where(AuditHead.id == 1)
                           .values(seq=AuditHead.seq))
    return tuple(connection.execute(query).one())


def append(connection: Connection, events: list[dict]) -> int:
    """Write the events at the end of the chain; return the last position."""
    seq, prev = _lock_head(connection)
    rows = []
    for event in events:
        seq += 1
        row = dict(event, seq=seq, prev_hash=prev)
        row["row_hash"] = prev = row_hash(prev, row)
        rows.append(row)
    connection.execute(insert(AuditEvent), rows)
    connection.execute(update(AuditHead).where(AuditHead.id == 1)
                       .values(seq=seq, row_hash=prev))
    return seq
