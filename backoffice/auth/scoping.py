"""The ONE place that turns the current user into SQL filters.

A user's *grants* are their role assignments. For a permission, the user's
scope is the union of the subtrees of the units where they hold a role that
has that permission. Everything that reads or writes scoped rows goes
through these functions, so a rule changes in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import abort, g
from flask_login import current_user
from sqlalchemy import ColumnElement, bindparam, false, or_, select, true
from sqlalchemy import inspect as sa_inspect

from backoffice.auth.roles import role_has
from backoffice.extensions import db
from backoffice.models import Member, RoleAssignment, StaffUser, Unit


@dataclass(frozen=True)
class Grant:
    role: str
    unit_id: int
    level: str
    path: str

    def covers_path(self, path: str) -> bool:
        return path.startswith(self.path)


_MEMBER_COLUMN = {
    "division": Member.division_id,
    "district": Member.district_id,
    "block": Member.block_id,
    "zone": Member.zone_id,
}


def grants(user) -> tuple[Grant, ...]:
    """The user's role assignments, loaded once per request.

    The session's user (a SessionUser) has them from load_user, active or not, and
    keeps them for the request (forget_grants() drops them). Any other user (a job's
    actor, a StaffUser row) has them read once per request; for a row, from the
    session's identity map: a commit expires it, and reading ``is_active`` or ``id``
    again would load the row once more for nothing."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ()
    cache = g.setdefault("_grants", {})
    real = user._get_current_object() if hasattr(user, "_get_current_object") else user
    if real is g.get("_login_user") and (key := _loaded_id(real)) in cache:
        return cache[key]
    if not user.is_active:
        return ()
    if user.id not in cache:
        rows = db.session.execute(
            select(RoleAssignment.role, Unit.id, Unit.level, Unit.path)
            .join(Unit, RoleAssignment.unit_id == Unit.id)
            .where(RoleAssignment.user_id == user.id)
        ).all()
        cache[user.id] = tuple(Grant(*row) for row in rows)
    return cache[user.id]


def forget_grants() -> None:
    """Drop the per-request cache after roles or units changed in this request (and
    what was decided from it: which admin views the user may open)."""
    g.pop("_grants", None)
    g.pop("_accessible", None)


def grants_for(user, permission: str) -> list[Grant]:
    return [grant for grant in grants(user) if role_has(grant.role, permission)]


def has_permission(user, permission: str) -> bool:
    return bool(grants_for(user, permission))


def require(permission: str, user=None) -> None:
    """Abort with 403 unless the user holds the permission somewhere."""
    if not has_permission(user or current_user, permission):
        abort(403)


def _any(clauses: Iterable[ColumnElement[bool]]) -> ColumnElement[bool]:
    clauses = list(clauses)
    return or_(*clauses) if clauses else false()


def member_filter(user, permission: str) -> ColumnElement[bool]:
    """WHERE clause selecting the members the user may act on with ``permission``."""
    clauses = []
    for grant in grants_for(user, permission):
        if grant.level == "state":
            return true()
        clauses.append(_MEMBER_COLUMN[grant.level] == grant.unit_id)
    return _any(clauses)


def unit_filter(user, permission: str) -> ColumnElement[bool]:
    """WHERE clause selecting the units inside the user's scope (their subtrees)."""
    return _any(Unit.path.startswith(grant.path) for grant in grants_for(user, permission))


def staff_filter(user, permission: str) -> ColumnElement[bool]:
    """Staff holding at least one role inside the user's scope."""
    if any(grant.level == "state" for grant in grants_for(user, permission)):
        return true()
    in_scope = (
        select(RoleAssignment.user_id)
        .join(Unit, RoleAssignment.unit_id == Unit.id)
        .where(unit_filter(user, permission))
    )
    return StaffUser.id.in_(in_scope)


def unit_in_scope(user, permission: str, unit: Unit | None) -> bool:
    return unit is not None and any(
        grant.covers_path(unit.path) for grant in grants_for(user, permission)
    )


def member_in_scope(user, permission: str, member: Member) -> bool:
    """Python twin of member_filter, for a row already loaded."""
    for grant in grants_for(user, permission):
        if grant.level == "state":
            return True
        if getattr(member, _MEMBER_COLUMN[grant.level].key) == grant.unit_id:
            return True
    return False


def scoped_units(user, permission: str, *, levels: Iterable[str] | None = None):
    """A select() of the units in scope, smallest first by name, for choices."""
    query = select(Unit).where(unit_filter(user, permission))
    if levels is not None:
        query = query.where(Unit.level.in_(list(levels)))
    return query.order_by(Unit.path)


class SessionUser:
    """The session's user as every request reads it: who they are, their account's
    state and their grants, read in one prepared statement (load_user) and not an ORM
    row. Immutable, and shared by the requests that read the same rows (load_user).

    Flask-Login's protocol and what pages read of the user are attributes here. Any
    other attribute of the account (email, ref_code, roles...) is read from the
    session-bound StaffUser row (``user_row``), loaded on first use; code that
    changes the account takes that row with ``user_row(current_user)``."""

    __slots__ = ("id", "full_name", "active", "preferred_locale", "session_version",
                 "totp_enabled", "grants")
    is_authenticated = True
    is_anonymous = False

    def __init__(self, id: int, full_name: str, active: bool,  # noqa: A002 - the column
                 preferred_locale: str | None, session_version: int, totp_enabled: bool,
                 grants: tuple[Grant, ...]) -> None:
        for name, value in zip(self.__slots__, (id, full_name, active, preferred_locale,
                                                session_version, totp_enabled, grants),
                               strict=True):
            object.__setattr__(self, name, value)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __str__(self) -> str:
        return self.full_name

    def __repr__(self) -> str:
        return f"<SessionUser {self.id}>"

    def __setattr__(self, name, value):
        raise AttributeError(f"SessionUser is read-only: change user_row(user).{name}")

    def __getattr__(self, name: str):
        # Only for names not above. Private and dunder names are not the account's
        # (SQLAlchemy's inspect() asks for _sa_instance_state: this is no ORM object).
        if name.startswith("_"):
            raise AttributeError(name)
        row = user_row(self)
        if row is None:
            raise AttributeError(name)
        return getattr(row, name)


_STAFF, _ROLE, _UNIT = StaffUser.__table__, RoleAssignment.__table__, Unit.__table__
# Built once: a Core statement (no ORM entities, its cache key kept with it) run on the
# session's connection. Every request reads the row and its grants afresh, so a
# deactivation, a password change (session_version), a grant given or taken or a unit
# moved is seen by the very next request in every process, with nothing to invalidate.
_SESSION_USER = (
    select(_STAFF.c.id, _STAFF.c.full_name, _STAFF.c.active, _STAFF.c.preferred_locale,
           _STAFF.c.session_version, _STAFF.c.totp_enabled,
           _ROLE.c.role, _UNIT.c.id, _UNIT.c.level, _UNIT.c.path)
    .select_from(_STAFF.outerjoin(_ROLE, _ROLE.c.user_id == _STAFF.c.id)
                 .outerjoin(_UNIT, _ROLE.c.unit_id == _UNIT.c.id))
    .where(_STAFF.c.id == bindparam("user_id"))
)


# The snapshots made lately, keyed by the rows they were made from: the same rows give
# the same (immutable) snapshot, so a request reads the rows but makes no objects.
# Different rows (any change) are a new key: nothing here needs invalidating.
_SNAPSHOTS: dict[tuple, SessionUser] = {}
_SNAPSHOTS_KEPT = 4096


def load_user(user_id: int) -> SessionUser | None:
    """The session's user and their grants, in one query: every request begins with it.
    The grants are kept for the request (``grants``), so nothing asks for them again."""
    result = db.session.connection().execute(_SESSION_USER, {"user_id": user_id})
    rows = tuple(map(tuple, result))  # plain tuples: a cheap key (Row compares slowly)
    if not rows:
        return None
    user = _SNAPSHOTS.get(rows)
    if user is None:
        first = rows[0]
        held = tuple(Grant(*row[6:]) for row in rows if row[6] is not None) \
            if first[2] else ()
        user = SessionUser(*first[:6], held)
        if len(_SNAPSHOTS) >= _SNAPSHOTS_KEPT:
            _SNAPSHOTS.clear()
        _SNAPSHOTS[rows] = user
    g.setdefault("_grants", {})[user.id] = user.grants
    return user


def user_row(user) -> StaffUser | None:
    """The user's StaffUser row, bound to this request's session (from its identity map
    if loaded already), for code that changes the account or reads more of it."""
    if isinstance(user, StaffUser) or user is None:
        return user
    real = user._get_current_object() if hasattr(user, "_get_current_object") else user
    if isinstance(real, StaffUser):
        return real
    return db.session.get(StaffUser, real.id) if getattr(
        real, "is_authenticated", False) else None


def _loaded_id(user) -> int | None:
    """The user's id without a query: a SessionUser's own, or a StaffUser's from the
    session's identity map (even once expired)."""
    if isinstance(user, SessionUser):
        return user.id
    state = sa_inspect(user, raiseerr=False)
    return state.identity[0] if state is not None and state.identity else None
