"""Row state: every event that changes a member carries a keyed digest of the whole row
as that transaction leaves it, so the log can vouch for the register, not only for
itself.

The chain proves the log was not rewritten; it says nothing of an UPDATE run on
the member table by a database superuser behind the app. ``verify_state``
streams the member rows and each member's last recorded state, both in id
order, and names every row whose current values no event explains, every row
no event records, and every member whose events outlive their row.

The digest is computed at commit from the row as the database holds it, on
every write path (ORM, bulk statements, imports), so it cannot disagree with
what was written. Columns left empty do not enter it: adding a nullable column
changes no digest. ``updated_at`` is left out: the app stamps it on writes that
need no event.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from backoffice.audit.events import _key, canonical
from backoffice.models import AuditEvent, Member

STATE = "state"  # the key in an event's details
ABSENT = "absent"  # the row was deleted in that transaction
BASELINE = "member.state_baseline"
BATCH = 5000
_LEFT_OUT = {"id", "updated_at"}
COLUMNS = tuple(c for c in Member.__table__.columns if c.name not in _LEFT_OUT)
_IN_CHUNK = 1000


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def digest(row) -> str:
    """A keyed digest of a member row's audited values (a Row or mapping with them)."""
    mapping = row._mapping if hasattr(row, "_mapping") else row
    values = {c.name: _plain(mapping[c.name]) for c in COLUMNS if mapping[c.name] is not None}
    body = canonical(values).encode()
    return hmac.new(_key(), b"member-state:" + body, hashlib.sha256).hexdigest()[:32]


def _changes_row(event: dict) -> bool:
    return (event.get("entity_type") == "member" and event.get("entity_id") is not None
            and event["action"].startswith("member."))


def attach(connection: Connection, events: list[dict]) -> None:
    """Write the row's state into each queued event that changes a member (at commit,
    after the last flush: the state is the one the transaction leaves)."""
    ids = sorted({event["entity_id"] for event in events if _changes_row(event)})
    if not ids:
        return
    states = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start:start + _IN_CHUNK]
        for row in connection.execute(select(Member.id, *COLUMNS).where(Member.id.in_(chunk))):
            states[row.id] = digest(row)
    for event in events:
        if _changes_row(event):
            details = json.loads(event["details"])
            details[STATE] = states.get(event["entity_id"], ABSENT)
            event["details"] = canonical(details)


@dataclass
class Finding:
    member_id: int
    problem: str


@dataclass
class _Last:
    member_id: int
    state: str | None  # None: only events from before states were recorded
    seq: int | None
    action: str | None


def _last_states(session: Session, lo: int | None, hi: int | None) -> Iterator[_Last]:
    query = (select(AuditEvent.entity_id, AuditEvent.seq, AuditEvent.action,
                    AuditEvent.details)
             .where(AuditEvent.entity_type == "member", AuditEvent.entity_id.is_not(None))
             .order_by(AuditEvent.entity_id, AuditEvent.seq))
    if lo is not None:
        query = query.where(AuditEvent.entity_id >= lo, AuditEvent.entity_id <= hi)
    result = session.execute(query.execution_options(yield_per=BATCH))
    try:
        for member_id, events in itertools.groupby(result, key=lambda e: e.entity_id):
            last = _Last(member_id, None, None, None)
            for event in events:
                if f'"{STATE}":' in event.details:  # parse only the one that counts
                    last.seq, last.action, last.state = event.seq, event.action, event.details
            if last.state is not None:
                state = json.loads(last.state).get(STATE)
                last.state = state if isinstance(state, str) else None
            yield last
    finally:
        result.close()


def _rows(session: Session, lo: int | None, hi: int | None):
    query = select(Member.id, *COLUMNS).order_by(Member.id)
    if lo is not None:
        query = query.where(Member.id >= lo, Member.id <= hi)
    return session.execute(query.execution_options(yield_per=BATCH))


def _judge(row, last: _Last | None) -> str | None:
    if last is None:
        return "no event records this member"
    if row is None:
        if last.state == ABSENT:
            return None
        return "its row is gone, but no event records a deletion"
    if last.state is None:
        return "its events predate recorded states (run `backoffice audit baseline-state` once)"
    if last.state == ABSENT:
        return f"its row exists, but event {last.seq} ({last.action}) records it deleted"
    if digest(row) != last.state:
        return f"its values differ from its last recorded state (event {last.seq}, {last.action})"
    return None


def walk(session: Session, lo: int | None = None, hi: int | None = None
         ) -> Iterator[tuple[int, object, _Last | None]]:
    """Member rows and last recorded states merged by id: (id, row or None, last or None).
    Two streams, each in id order, in constant memory."""
    rows, lasts = _rows(session, lo, hi), _last_states(session, lo, hi)
    try:
        row, last = next(rows, None), next(lasts, None)
        while row is not None or last is not None:
            if last is None or (row is not None and row.id < last.member_id):
                yield row.id, row, None
                row = next(rows, None)
            elif row is None or last.member_id < row.id:
                yield last.member_id, None, last
                last = next(lasts, None)
            else:
                yield row.id, row, last
                row, last = next(rows, None), next(lasts, None)
    finally:
        rows.close()
        lasts.close()


def _consistent_snapshot(session: Session) -> None:
    """On PostgreSQL, one REPEATABLE READ snapshot for both streams, when the session
    has not started its transaction yet (a command line run)."""
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql" \
            and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def verify_state(session: Session, counts: dict | None = None) -> Iterator[Finding]:
    """Every member whose current row no event explains, in id order (``counts``
    gets the number of rows read)."""
    _consistent_snapshot(session)
    counts = counts if counts is not None else {}
    counts.setdefault("members", 0)
    for member_id, row, last in walk(session):
        counts["members"] += row is not None
        problem = _judge(row, last)
        if problem:
            yield Finding(member_id, problem)


def unattested(session: Session, lo: int, hi: int) -> list[tuple[int, int, bool]]:
    """Members with ids in [lo, hi] whose row has no recorded state yet:
    (id, block, whether older events exist). For ``baseline-state``, window by window."""
    return [(member_id, row.block_id, last is not None)
            for member_id, row, last in walk(session, lo, hi)
            if row is not None and (last is None or last.state is None)]
