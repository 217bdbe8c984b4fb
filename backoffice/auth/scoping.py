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
from sqlalchemy import ColumnElement, false, or_, select, true
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

    The session's user has them from load_user, active or not, and keeps them for the
    request (forget_grants() drops them): a commit expires the user, and reading
    ``is_active`` or ``id`` again would load the row once more for nothing."""
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


def load_user(user_id: int) -> StaffUser | None:
    """The session's user and their grants, in one query: every request begins with it.
    The grants are kept for the request (``grants``), so nothing asks for them again."""
    rows = db.session.execute(
        select(StaffUser, RoleAssignment.role, Unit.id, Unit.level, Unit.path)
        .outerjoin(RoleAssignment, RoleAssignment.user_id == StaffUser.id)
        .outerjoin(Unit, RoleAssignment.unit_id == Unit.id)
        .where(StaffUser.id == user_id)
    ).all()
    if not rows:
        return None
    user = rows[0][0]
    g.setdefault("_grants", {})[user.id] = tuple(
        Grant(*row[1:]) for row in rows if row[1] is not None) if user.active else ()
    return user


def _loaded_id(user) -> int | None:
    """The user's id from the session's identity map: no query, even once expired."""
    state = sa_inspect(user, raiseerr=False)
    return state.identity[0] if state is not None and state.identity else None
