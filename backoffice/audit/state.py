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
what was written: read at commit, or taken from the write when that is the
stored row (an update's RETURNING; an ORM insert's own values, which no other
transaction can change before the commit). Columns left empty do not enter it:
adding a nullable column changes no digest.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Integer, String, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, scoped_session

from backoffice.audit.events import _key, canonical
from backoffice.models import AuditEvent, Member

STATE = "state"  # the key in an event's details
ABSENT = "absent"  # the row was deleted in that transaction
BASELINE = "member.state_baseline"
BATCH = 5000
# updated_at is stamped on writes that need no event; photo_phash (where present) is
# derived from the photo, which photo_sha256 already stands for, and may be filled later;
# search_key and duplicate_key are derived from the names (backoffice/phonetic.py) and
# were filled in for existing rows by a migration.
_LEFT_OUT = {"id", "updated_at", "photo_phash", "search_key", "duplicate_key"}
# Sorted by name, so a row's values build a dict already in canonical (sorted-key) order.
COLUMNS = tuple(sorted((c for c in Member.__table__.columns if c.name not in _LEFT_OUT),
                       key=lambda c: c.name))
_IN_CHUNK = 1000
_NAMES = tuple(c.name for c in COLUMNS)
_BLOCK = 1 + _NAMES.index("block_id")
_STATE_IN_DETAILS = re.compile(r'"state":"([0-9a-f]{32}|absent)"')


# A row's state known without reading it again (session.info, this transaction only):
_RETURNED = "member_state_returned"  # {id: row (id, *COLUMNS)} a write returned
_INSERTED = "member_state_inserted"  # ids of members this transaction inserted (ORM)
RETURNING = (Member.id, *COLUMNS)  # what a write on member returns for returned()


def _python_type(column):
    """The one Python type whose values a column stores and gives back unchanged (so a
    value of exactly that type that was written is what a read would give), or None."""
    kind = column.type
    if isinstance(kind, String):  # Text and non-native Enum too
        return str
    if isinstance(kind, Boolean):
        return bool
    if isinstance(kind, Integer):
        return int
    if isinstance(kind, DateTime):
        return None if kind.timezone else datetime
    if isinstance(kind, Date):
        return date
    return None


# (attribute, its one Python type, whether an insert that did not set it stored NULL:
# no default of any kind, so the ORM inserted NULL and left the attribute unloaded).
_KEYS = tuple((Member.__mapper__.get_property_by_column(column).key, _python_type(column),
               column.default is None and column.server_default is None
               and column.server_onupdate is None)
              for column in COLUMNS)


def returned(session: Session, row) -> None:
    """A member's row as a write stored it (its RETURNING of ``RETURNING``): the state
    attach() records, unless the row is written again in this transaction."""
    session.info.setdefault(_RETURNED, {})[row[0]] = tuple(row)


def inserted(session: Session, member_ids) -> None:
    """Members this transaction's flush inserted through the ORM: no other transaction
    sees them before the commit, so their flushed values are the stored row."""
    session.info.setdefault(_INSERTED, set()).update(member_ids)


def rewritten(session: Session, member_ids) -> None:
    """Members an ORM flush updated or deleted: a row returned before no longer holds
    (an inserted one's flushed values follow the ORM's updates; a deleted one is no
    longer in the identity map as persistent)."""
    returned_rows = session.info.get(_RETURNED)
    if returned_rows:
        for member_id in member_ids:
            returned_rows.pop(member_id, None)


def forget(session: Session) -> None:
    """Transaction over, or members written in bulk: read states from the database."""
    session.info.pop(_RETURNED, None)
    session.info.pop(_INSERTED, None)


def _flushed_row(session: Session, member_id: int):
    """The member's row from the values this transaction inserted and flushed, when
    every one is loaded and of the type the column gives back; else None."""
    obj = session.identity_map.get(Member.__mapper__.identity_key_from_primary_key(
        (member_id,)))
    if obj is None:
        return None
    obj_state = inspect(obj)
    if obj_state.modified or obj_state.deleted or obj_state.detached:
        return None
    values, expired = obj_state.dict, obj_state.expired_attributes
    row = [member_id]
    for key, kind, null_if_unset in _KEYS:
        if key in values:
            value = values[key]
        elif null_if_unset and key not in expired:
            value = None
        else:  # expired, or a value the database chose: not known here
            return None
        if value is not None and (type(value) is not kind or (
                kind is datetime and value.tzinfo is not None)):
            return None
        row.append(value)
    return row


def _known_rows(session: Session | None, ids) -> dict:
    if session is None:
        return {}
    returned_rows = session.info.get(_RETURNED) or {}
    inserted_ids = session.info.get(_INSERTED) or ()
    known = {}
    for member_id in ids:
        row = returned_rows.get(member_id)
        if row is None and member_id in inserted_ids:
            row = _flushed_row(session, member_id)
        if row is not None:
            known[member_id] = row
    return known


def _keyed():
    return hmac.new(_key(), b"member-state:", hashlib.sha256)


def digest(row, keyed=None) -> str:
    """A keyed digest of a member row's audited values: a row of (id, *COLUMNS), as
    selected by this module. Same text as canonical() of the non-empty values."""
    values = {}
    for name, value in zip(_NAMES, row[1:], strict=True):
        if value is None:
            continue
        kind = type(value)
        if kind is datetime:
            value = value.isoformat(sep=" ", timespec="microseconds")
        elif kind is date:
            value = value.isoformat()
        values[name] = value
    mac = (keyed or _keyed()).copy()
    mac.update(json.dumps(values, separators=(",", ":"), ensure_ascii=False,
                          default=str).encode())
    return mac.hexdigest()[:32]


def _changes_row(event: dict) -> bool:
    return (event.get("entity_type") == "member" and event.get("entity_id") is not None
            and event["action"].startswith("member."))


def attach(connection: Connection, events: list[dict], session: Session | None = None) -> None:
    """Write the row's state into each queued event that changes a member (at commit,
    after the last flush: the state is the one the transaction leaves).

    Rows this transaction's writes returned (``returned``) or inserted (``inserted``)
    and left alone since are not read again; the others are selected."""
    ids = sorted({event["entity_id"] for event in events if _changes_row(event)})
    if not ids:
        return
    states = {}
    known = _known_rows(session, ids)
    for member_id, row in known.items():
        states[member_id] = digest(row)
    ids = [member_id for member_id in ids if member_id not in known]
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start:start + _IN_CHUNK]
        for row in connection.execute(_select().where(Member.id.in_(chunk))):
            states[row[0]] = digest(row)
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


def _select():
    return select(Member.id, *COLUMNS)


def _stream(session: Session, query):
    """Rows through the Core connection (no ORM row processing), fetched in batches
    (a server-side cursor on PostgreSQL)."""
    return session.connection().execute(query.execution_options(yield_per=BATCH))


def _last_states(session: Session, lo: int | None, hi: int | None) -> Iterator[_Last]:
    query = (select(AuditEvent.entity_id, AuditEvent.seq, AuditEvent.action,
                    AuditEvent.details)
             .where(AuditEvent.entity_type == "member", AuditEvent.entity_id.is_not(None))
             .order_by(AuditEvent.entity_id, AuditEvent.seq))
    if lo is not None:
        query = query.where(AuditEvent.entity_id >= lo, AuditEvent.entity_id <= hi)
    result = _stream(session, query)
    try:
        for member_id, events in itertools.groupby(result, key=lambda e: e[0]):
            last = _Last(member_id, None, None, None)
            for _id, seq, action, details in events:
                # Details are canonical JSON written by attach(): a top-level "state" key
                # with a hex digest; a user's text would have its quotes escaped.
                found = _STATE_IN_DETAILS.search(details)
                if found:
                    last.seq, last.action, last.state = seq, action, found.group(1)
            yield last
    finally:
        result.close()


def _rows(session: Session, lo: int | None, hi: int | None):
    query = _select().order_by(Member.id)
    if lo is not None:
        query = query.where(Member.id >= lo, Member.id <= hi)
    return _stream(session, query)


def _judge(row, last: _Last | None, keyed) -> str | None:
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
    if digest(row, keyed) != last.state:
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
            if last is None or (row is not None and row[0] < last.member_id):
                yield row[0], row, None
                row = next(rows, None)
            elif row is None or last.member_id < row[0]:
                yield last.member_id, None, last
                last = next(lasts, None)
            else:
                yield row[0], row, last
                row, last = next(rows, None), next(lasts, None)
    finally:
        rows.close()
        lasts.close()


def consistent_snapshot(session: Session) -> None:
    """On PostgreSQL, one REPEATABLE READ snapshot for every read of a check, when the
    session has not started its transaction yet (a command line run)."""
    session = session() if isinstance(session, scoped_session) else session
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql" \
            and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def verify_state(session: Session, counts: dict | None = None) -> Iterator[Finding]:
    """Every member whose current row no event explains, in id order (``counts``
    gets the number of rows read)."""
    consistent_snapshot(session)
    counts = counts if counts is not None else {}
    counts.setdefault("members", 0)
    keyed = _keyed()
    for member_id, row, last in walk(session):
        counts["members"] += row is not None
        problem = _judge(row, last, keyed)
        if problem:
            yield Finding(member_id, problem)


def unattested(session: Session, lo: int, hi: int) -> list[tuple[int, int, bool]]:
    """Members with ids in [lo, hi] whose row has no recorded state yet:
    (id, block, whether older events exist). For ``baseline-state``, window by window."""
    return [(member_id, row[_BLOCK], last is not None)
            for member_id, row, last in walk(session, lo, hi)
            if row is not None and (last is None or last.state is None)]
