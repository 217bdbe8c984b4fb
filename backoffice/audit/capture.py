"""Session hooks: ORM changes become events; queued events are written at commit and
chained then or right after it; bulk statements on audited tables must say they log
their rows."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context
from flask_sqlalchemy.session import Session
from sqlalchemy import TextClause, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState

from backoffice.audit import chain, state
from backoffice.audit.events import PENDING, pii, record
from backoffice.models import Member, RoleAssignment, Roll, StaffUser, Unit

_QUEUED = "audit_queued"  # session.info: the engine whose audit_pending this transaction wrote
_SETTLE = "audit_settle"  # ... and whose commit went through: chain them once it has ended
_LATER = "audit_chain_later"  # flask.g: this request leaves chaining to the background

AUDITED_TABLES = frozenset({"member", "staff_user", "role_assignment", "unit", "roll"})

# Per model: (event noun, personal fields, secret fields, fields not worth an event).
_MODELS = {
    Member: ("member", {"full_name", "relative_name", "date_of_birth", "mobile", "epic",
                        "address", "photo_path", "photo_sha256", "photo_phash"}, set(),
             {"updated_at"}),
    StaffUser: ("staff", {"full_name", "email", "mobile"}, {"password_hash", "totp_secret"},
                {"failed_logins", "locked_until", "last_login_at", "totp_last_step"}),
    RoleAssignment: ("role", set(), set(), set()),
    Unit: ("unit", set(), set(), set()),
    Roll: ("roll", set(), set(), {"entry_count"}),
}


class AuditRefused(RuntimeError):
    """A bulk statement on an audited table that does not log its rows."""


def _value(field, value, personal, secret):
    if field in secret:
        return "<changed>"
    if field in personal:
        return pii(field, value)
    return value if value is None or isinstance(value, (int, str, bool)) else str(value)


def _unit_of(obj) -> int | None:
    if isinstance(obj, Member):
        return obj.block_id
    if isinstance(obj, RoleAssignment):
        return obj.unit_id
    if isinstance(obj, Unit):
        return obj.id
    if isinstance(obj, Roll):
        return obj.unit_id
    roles = inspect(obj).attrs.roles.loaded_value
    return roles[0].unit_id if isinstance(roles, list) and roles else None


def _changes(obj, created: bool) -> dict:
    noun, personal, secret, ignored = _MODELS[type(obj)]
    state = inspect(obj)
    changes = {}
    if created:  # every value it was created with, read straight from its dict
        for attr in state.mapper.column_attrs:
            value = state.dict.get(attr.key)
            if value is not None and attr.key not in ignored:
                changes[attr.key] = [None, _value(attr.key, value, personal, secret)]
        return changes
    for attr in state.mapper.column_attrs:
        name = attr.key
        if name in ignored:
            continue
        history = state.attrs[name].history
        if history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old != new:
                changes[name] = [_value(name, old, personal, secret),
                                 _value(name, new, personal, secret)]
    return changes


def _after_flush(session, _context) -> None:
    for kind, objects in (("create", session.new), ("update", session.dirty),
                          ("delete", session.deleted)):
        for obj in objects:
            if type(obj) not in _MODELS:
                continue
            entity_id = inspect(obj).mapper.primary_key_from_instance(obj)[0]
            if type(obj) is Member:  # what attach() may know of its row without a read
                if kind == "create":
                    state.inserted(session, (entity_id,))
                else:
                    state.rewritten(session, (entity_id,))
            changes = _changes(obj, kind == "create") if kind != "delete" else {}
            if kind == "update" and not changes:
                continue
            record(f"{_MODELS[type(obj)][0]}.{kind}", entity_type=_MODELS[type(obj)][0],
                   entity_id=entity_id,
                   unit_id=_unit_of(obj), changes=changes, session=session)


def deferring_engine(session) -> Engine | None:
    """PostgreSQL through an engine: events wait in audit_pending and are chained after
    the commit. A session bound to a connection (an outer transaction, as in the tests)
    has no commit of its own to wait for: it chains at once, as SQLite does."""
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql" \
            and chain.DEFER_ON_POSTGRESQL:
        return bind
    return None


def settle_now(session) -> None:
    """Before reading the chain's head or this process's latest events in a request:
    chain what waits (a web request's commit leaves it to the background appender)."""
    engine = deferring_engine(session)
    if engine is not None:
        chain.settle(engine)


def _before_commit(session) -> None:
    session.flush()  # ORM changes still pending become events first
    events = session.info.pop(PENDING, None)
    if events:
        connection = session.connection()
        state.attach(connection, events, session)
        engine = deferring_engine(session)
        if engine is None:
            chain.append(connection, events)
        else:
            chain.queue(connection, events)
            session.info[_QUEUED] = engine


def _after_commit(session) -> None:
    state.forget(session)
    if session.get_nested_transaction() is None and _QUEUED in session.info:
        session.info[_SETTLE] = session.info.pop(_QUEUED)


def _after_rollback(session) -> None:
    session.info.pop(PENDING, None)
    state.forget(session)  # a savepoint's rollback too: what it undid is not known
    if session.get_nested_transaction() is None:  # the whole transaction: nothing queued
        session.info.pop(_QUEUED, None)
        session.info.pop(_SETTLE, None)


def _after_transaction_end(session, transaction) -> None:
    """The commit has gone through and its connection is back in the pool: chain.

    The change and its events are committed whatever happens here; if chaining fails
    they stay pending, and the next commit with events, or `backoffice audit chain`,
    chains them. So a failure is logged, not raised.
    """
    if transaction.parent is not None:
        return
    engine = session.info.pop(_SETTLE, None)
    if engine is None:
        return
    if _chain_later():
        chain.later(engine)
        return
    try:
        chain.settle(engine)
    except Exception as error:  # noqa: BLE001 - the commit stands; see the docstring
        chain.warn_unchained(error)


def _chain_later() -> bool:
    """A web request leaves the chaining to the process's background appender: its
    thread answers the next request instead of waiting for a round (docs/audit-log.md).
    Commands, jobs and tests without a request wait, so what they read next is chained."""
    return has_request_context() and g.get(_LATER, False)


def _mark_request() -> None:
    g.setdefault(_LATER, current_app.config.get("AUDIT_CHAIN_IN_BACKGROUND", True))


def _check_bulk(execution: ORMExecuteState) -> None:
    if not (execution.is_update or execution.is_delete or execution.is_insert):
        if isinstance(execution.statement, TextClause):  # SQL text may write members
            state.forget(execution.session)
        return
    table = getattr(execution.statement, "table", None)
    if table is None or table.name not in AUDITED_TABLES:
        return
    if table.name == "member":  # rows written in bulk: their states are read at commit
        state.forget(execution.session)
    if not execution.execution_options.get("audited"):
        raise AuditRefused(f"bulk {table.name} statement without audit: log each row and "
                           f"pass execution_options(audited=True)")


def install(app: Flask) -> None:
    hooks = [(Session, "after_flush", _after_flush), (Session, "before_commit", _before_commit),
             (Session, "after_commit", _after_commit),
             (Session, "after_rollback", _after_rollback),
             (Session, "after_transaction_end", _after_transaction_end),
             (Session, "do_orm_execute", _check_bulk)]
    for target, name, hook in hooks:
        if not event.contains(target, name, hook):
            event.listen(target, name, hook)
    app.before_request(_mark_request)
