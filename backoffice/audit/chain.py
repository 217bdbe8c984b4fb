"""Positions and hashes: the chain is extended under a lock on its head row.

Two ways in (docs/audit-log.md, "Throughput"):

- ``append``: the committing transaction chains its own events under the head
  row's lock (SQLite, whose write lock serialises commits anyway, and sessions
  bound to an outer transaction, such as the test suite's);
- ``queue`` then ``settle``: on PostgreSQL the transaction writes its events
  into ``audit_pending`` and commits without touching the head; right after the
  commit, one appender per process (a thread lock) and one per database (the
  head row's lock) moves every committed pending event into the chain, in its
  own order, and deletes them, in one transaction: one WAL flush for the events
  of many commits. ``settle`` returns once the caller's events are chained;
  ``later`` (web requests) returns at once and a background thread of the
  process chains them, so no request thread waits for a round.

The head row is locked by SELECT ... FOR UPDATE on PostgreSQL (a row lock,
re-read after waiting under READ COMMITTED) and by an UPDATE ... RETURNING on
SQLite (the database's write lock). Appenders queue up and the chain never forks
(tests/audit: 16 writers on PostgreSQL).
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import threading
import time
import weakref

from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy import event as sqla_event
from sqlalchemy.engine import Connection, Engine

from backoffice.audit.events import canonical
from backoffice.database import BOUNDED
from backoffice.models import AuditEvent, AuditHead
from backoffice.models.audit import AuditPending

HASHED_FIELDS = (
    "seq", "occurred_at", "actor_user_id", "actor_roles", "source_ip", "request_id",
    "session_ref", "action", "entity_type", "entity_id", "unit_id", "changes", "reason",
    "details",
)
CONTENT = HASHED_FIELDS[1:]  # what a pending event holds: all but its position
BATCH = 1000  # pending events chained per transaction
# Off only to measure the old design on PostgreSQL (benchmarks/audit_append.py).
DEFER_ON_POSTGRESQL = True
IDLE_SECONDS = 30.0  # a background appender with nothing asked of it ends after this
EXIT_WAIT_SECONDS = 5.0  # at exit, how long the process waits for its appender
# Woken by a commit, the background appender waits this long before its round, so the
# commits of the next few requests of the process share it (one round, one WAL flush,
# one turn on the head row for all of them). Nobody waiting is kept waiting by it: a
# caller of caught_up, an engine being disposed and the process's exit cut it short,
# and the pages that read the chain chain what waits themselves (capture.settle_now).
LINGER_SECONDS = 0.05

logger = logging.getLogger(__name__)


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
_QUEUE = insert(AuditPending)
_PENDING = (select(AuditPending.id, *(getattr(AuditPending, name) for name in CONTENT))
            .order_by(AuditPending.id).limit(bindparam("limit")))
_SETTLED = delete(AuditPending).where(AuditPending.id.in_(bindparam("ids", expanding=True)))
# PostgreSQL: a round's writes in one statement (one round trip): the events at their
# positions, the pending rows gone, the head moved. The trigger that refuses deleting
# a pending event without its chained copy is deferred to the commit, so the order of
# the three does not matter. Column lists as arrays: one prepared statement for any
# batch size.
_ARRAYS = {"seq": "bigint", "prev_hash": "text", "row_hash": "text", "pending_id": "bigint",
           "actor_user_id": "integer", "entity_id": "integer", "unit_id": "integer"}
_COLUMNS = ("seq", "prev_hash", "row_hash", "pending_id", *CONTENT)
_ARRAY_PARAMS = ", ".join(f"CAST(:{name} AS {_ARRAYS.get(name, 'text')}[])"
                          for name in _COLUMNS)
_CHAIN_POSTGRESQL = text(  # built from the constants above only
    "WITH gone AS (DELETE FROM audit_pending WHERE id = ANY(CAST(:pending_id AS bigint[]))),"  # noqa: S608
    " head AS (UPDATE audit_head SET seq = :last, row_hash = :digest WHERE id = 1)"
    f" INSERT INTO audit_event ({', '.join(_COLUMNS)}) SELECT * FROM unnest({_ARRAY_PARAMS})")


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


def _hashed(seq: int, prev: str, events: list[dict]) -> list[dict]:
    """The events as rows at positions seq+1..., each hash chained to the one before."""
    rows = []
    for event in events:
        seq += 1
        row = dict(event, seq=seq, prev_hash=prev)
        row["row_hash"] = prev = row_hash(prev, row)
        rows.append(row)
    return rows


def _link(connection: Connection, seq: int, prev: str, events: list[dict]) -> int:
    """Write the events at positions seq+1...; move the head; return the last position."""
    rows = _hashed(seq, prev, events)
    connection.execute(_APPEND, rows)
    connection.execute(_SET_HEAD, {"last": rows[-1]["seq"], "digest": rows[-1]["row_hash"]})
    return rows[-1]["seq"]


def append(connection: Connection, events: list[dict]) -> int:
    """Write the events at the end of the chain, in the caller's transaction; return
    the last position."""
    seq, prev = _reserve(connection, len(events))
    return _link(connection, seq, prev, events)


def queue(connection: Connection, events: list[dict]) -> None:
    """Write the events into audit_pending, in the caller's transaction: they commit or
    roll back with the change; ``settle`` chains them after the commit."""
    connection.execute(_QUEUE, [{name: event.get(name) for name in CONTENT}
                                for event in events])


def chain_pending(connection: Connection, limit: int = BATCH) -> int:
    """Chain up to ``limit`` committed pending events, oldest id first, in the caller's
    transaction; return how many.

    The head is locked before the pending events are read, so under READ COMMITTED
    the read sees every commit before the lock was granted, and the appender before
    us has chained and deleted its own. Ids are not commit order on PostgreSQL (a
    transaction takes its id before it commits); the chain's order is the
    appender's, and ``seq`` records it. A transaction that waited for another's row
    commits after it, so its events never come before the other's.
    """
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        seq, prev = connection.execute(_LOCK).one()
    else:  # the write lock first (reserving nothing)
        seq, prev = _reserve(connection, 0)
    rows = connection.execute(_PENDING, {"limit": limit}).all()
    if not rows:
        return 0
    events = [dict(zip(CONTENT, row[1:], strict=True), pending_id=row[0]) for row in rows]
    if postgresql:
        chained = _hashed(seq, prev, events)
        values = {name: [row[name] for row in chained] for name in _COLUMNS}
        connection.execute(_CHAIN_POSTGRESQL, values | {"last": chained[-1]["seq"],
                                                        "digest": chained[-1]["row_hash"]})
    else:  # SQLite's trigger wants the chained copy in place before the delete
        _link(connection, seq, prev, events)
        connection.execute(_SETTLED, {"ids": [row[0] for row in rows]})
    return len(rows)


class _Appender:
    """One engine's appender. A thread that committed events waits while another runs a
    round; a round numbered after its commit chains them, else it runs the next one
    itself, for every thread waiting. Rounds are numbered when they begin, before
    they read the pending events."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.turn = threading.Condition()
        self.running = False
        self.begun = 0  # rounds begun
        self.covered = 0  # the last round that read the pending events to the end
        self.asked = 0  # commits that left their events to the background thread
        self.hurry = False  # someone waits for the background thread: no lingering
        self.answered = 0  # ... of which a finished background drain covered this many
        self.thread: threading.Thread | None = None
        self.rounds = self.chained = 0  # rounds that chained something, and how much

    def ask(self, engine: Engine) -> None:
        """A commit queued events: have the background thread chain them soon."""
        with self.turn:
            self.asked += 1
            if self.thread is None:
                self.thread = threading.Thread(
                    target=_background, args=(self, weakref.ref(engine)),
                    name="audit-appender", daemon=True)
                self.thread.start()
            self.turn.notify_all()

    def caught_up(self, timeout: float) -> bool:
        """Wait until every commit asked so far has been drained for (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self.turn:
            target = self.asked
            self.hurry = True
            self.turn.notify_all()
            while self.answered < target and self.thread is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.turn.wait(left)
            return True

    def ticket(self) -> int:
        with self.turn:
            return self.begun

    def wait_turn(self, ticket: int | None) -> bool:
        """Wait until a round after ``ticket`` has run (False) or it is our turn (True)."""
        with self.turn:
            while True:
                if ticket is not None and self.covered > ticket:
                    return False
                if not self.running:
                    self.running = True
                    return True
                self.turn.wait()

    def drain(self, engine: Engine) -> int:
        """Chain every committed pending event, BATCH per transaction (on our turn).

        A round that finds nothing rolls back: its lock on the head row gave it a
        transaction id, and a commit would wait for a WAL flush for nothing.
        """
        total, finished = 0, None
        pool = engine.pool
        try:
            with engine.connect() as connection:
                # A round is a few statements over at most BATCH events: it keeps the
                # request time-outs, wherever it runs (no SET LOCAL per round), and an
                # appender stuck inside a round does not hold the head row for ever.
                connection.execution_options(**{BOUNDED: True})
                while True:
                    with self.turn:
                        self.begun += 1
                        number = self.begun
                    transaction = connection.begin()
                    try:
                        chained = chain_pending(connection)
                    except BaseException:
                        transaction.rollback()
                        raise
                    if chained:
                        transaction.commit()
                        self.rounds += 1
                        self.chained += chained
                    else:
                        transaction.rollback()
                    total += chained
                    if chained < BATCH:
                        finished = number
                        return total
        finally:
            if engine.pool is not pool:  # the engine was disposed meanwhile (a test's end,
                pool.dispose()  # a fork): close the connection we gave back to its old pool
            with self.turn:
                self.running = False
                if finished is not None:
                    self.covered = finished
                self.turn.notify_all()


_APPENDERS: weakref.WeakKeyDictionary[Engine, _Appender] = weakref.WeakKeyDictionary()
_APPENDERS_LOCK = threading.Lock()


def _appender(engine: Engine) -> _Appender:
    with _APPENDERS_LOCK:
        found = _APPENDERS.get(engine)
        # A forked child (gunicorn, RQ) starts afresh: its parent's thread is not here,
        # and the parent's condition may have been held when it forked.
        if found is None or found.pid != os.getpid():
            found = _APPENDERS[engine] = _Appender()
            if not sqla_event.contains(engine, "engine_disposed", _disposed):
                sqla_event.listen(engine, "engine_disposed", _disposed)
        return found


def _disposed(engine: Engine) -> None:
    """After ``engine.dispose()`` (a test's end, a command's, a fork): let this process's
    background appender finish what it was asked, then close the connection its round
    gave back to the engine's new pool. A round that began after the dispose would
    otherwise leave that connection open in a pool nobody disposes."""
    found = _APPENDERS.get(engine)
    if found is None or found.pid != os.getpid() or found.thread is None:
        return
    found.caught_up(EXIT_WAIT_SECONDS)
    engine.pool.dispose()


def warn_unchained(error: Exception) -> None:
    """A round failed after the commits it was for: say so (the error's class and SQL
    state only: a driver's message can carry data), the events wait in audit_pending."""
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    logger.warning("audit events committed but not chained yet (%s%s); they stay "
                   "pending until the next append or `backoffice audit chain`",
                   type(error).__name__, f" {code}" if code else "")


def _background(appender: _Appender, engine_ref: weakref.ref) -> None:
    """The process's background appender: drain whenever a commit asks, end when idle.

    A drain that fails (the database restarting, a lock time-out) is logged and the
    events stay pending: the next commit's drain, `backoffice audit chain`, or the job
    workers' maintenance (every JOB_MAINTENANCE_SECONDS) chains them.
    """
    while True:
        with appender.turn:
            deadline = time.monotonic() + IDLE_SECONDS
            while appender.answered >= appender.asked:
                left = deadline - time.monotonic()
                if left <= 0:
                    appender.thread = None
                    appender.turn.notify_all()
                    return
                appender.turn.wait(left)
            # commits meanwhile still ask (and wake us: keep waiting to the end)
            lingering = time.monotonic() + LINGER_SECONDS
            while not appender.hurry and (left := lingering - time.monotonic()) > 0:
                appender.turn.wait(left)
            appender.hurry = False
            target = appender.asked  # every commit asked so far: this round drains for it
        engine = engine_ref()
        if engine is not None:
            try:
                appender.wait_turn(None)
                appender.drain(engine)
            except Exception as error:  # noqa: BLE001 - the commits stand; see the docstring
                warn_unchained(error)
        gone, engine = engine is None, None  # hold no engine while waiting: its owner may go
        with appender.turn:
            appender.answered = max(appender.answered, target)
            appender.turn.notify_all()
            if gone:
                appender.thread = None
                return


@atexit.register
def _drain_at_exit() -> None:
    """A process ending normally (a gunicorn worker's max_requests, a restart) lets its
    background appender finish, for a few seconds at most; whatever it leaves waits in
    audit_pending for the next drain."""
    with _APPENDERS_LOCK:
        appenders = [found for found in _APPENDERS.values() if found.pid == os.getpid()]
    for found in appenders:
        found.caught_up(EXIT_WAIT_SECONDS)


def later(engine: Engine) -> None:
    """After a commit that queued events: return at once; the process's background
    appender chains them (in a round with every other commit waiting then)."""
    _appender(engine).ask(engine)


def caught_up(engine: Engine, timeout: float = 10.0) -> bool:
    """Wait until this process's background appender has chained what was asked of it
    (benchmarks, tests); False if ``timeout`` passed first."""
    return _appender(engine).caught_up(timeout)


def settle(engine: Engine) -> None:
    """After a commit that queued events: return once they are chained.

    Call it after the commit has returned. If a round of this process that began
    after it has finished while this thread waited, the events are in the chain;
    otherwise this thread runs a round, for every thread waiting. (A round of
    another process may have chained them already; ours then finds nothing and
    rolls back.)
    """
    appender = _appender(engine)
    if appender.wait_turn(appender.ticket()):
        appender.drain(engine)


def chain_all(engine: Engine) -> int:
    """Chain every event waiting (after a crash; `backoffice audit chain`); how many."""
    appender = _appender(engine)
    appender.wait_turn(None)
    return appender.drain(engine)
