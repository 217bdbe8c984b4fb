"""The drive's targets and progress: the state sets its target and splits it down; a
district head splits the district's among its blocks. Progress comes from the
trigger-kept tallies, never from counting members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from backoffice.auth.roles import TARGET_MANAGE
from backoffice.auth.scoping import grants_for
from backoffice.extensions import db
from backoffice.models import MemberDaily, MemberTally, Unit, UnitTarget, utcnow
from backoffice.services.errors import NotFound, ValidationError

COUNTED = ("recorded", "phone_verified", "approved")  # rejected and revoked do not count


def set_target(actor, unit: Unit, target: int) -> UnitTarget:
    """Set a unit's target. A state admin sets any; a district head the district's blocks.

    The children's targets may not add up to more than their parent's.
    """
    if unit is None or not _may_set(actor, unit):
        raise NotFound(_l("No such unit in your scope."))
    if target < 0 or target > 10 ** 8:
        raise ValidationError(_l("A target is a whole number of members."), field="target")
    if unit.parent_id is not None:
        parent = db.session.get(UnitTarget, unit.parent_id)
        siblings = db.session.scalar(
            select(func.coalesce(func.sum(UnitTarget.target), 0))
            .join(Unit, Unit.id == UnitTarget.unit_id)
            .where(Unit.parent_id == unit.parent_id, Unit.id != unit.id)) or 0
        if parent is not None and siblings + target > parent.target:
            raise ValidationError(_l("The targets below %(unit)s would add up to more than its "
                                     "own target (%(n)s).", unit=str(db.session.get(
                                         Unit, unit.parent_id)), n=parent.target),
                                  field="target")
    row = db.session.get(UnitTarget, unit.id) or UnitTarget(unit_id=unit.id)
    row.target, row.set_by_id, row.set_at = target, actor.id, utcnow()
    db.session.add(row)
    db.session.flush()
    return row


def _may_set(actor, unit: Unit) -> bool:
    """A state admin anywhere; others only below their own level (a district's blocks)."""
    for grant in grants_for(actor, TARGET_MANAGE):
        if grant.level == "state" or (unit.path.startswith(grant.path)
                                      and unit.path != grant.path):
            return True
    return False


@dataclass
class Progress:
    unit: Unit
    target: int | None
    recorded: int
    approved: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.recorded / self.target, 1) if self.target else None


def progress(units: list[Unit]) -> list[Progress]:
    """Members counted (recorded, verified or approved) and approved, per unit, vs target."""
    targets = dict(db.session.execute(select(UnitTarget.unit_id, UnitTarget.target).where(
        UnitTarget.unit_id.in_([u.id for u in units]))).all())
    rows = []
    for unit in units:
        totals = dict(db.session.execute(
            select(MemberTally.status, func.sum(MemberTally.n))
            .join(Unit, Unit.id == MemberTally.block_id)
            .where(Unit.path.startswith(unit.path)).group_by(MemberTally.status)).all())
        recorded = sum(int(totals.get(status) or 0) for status in COUNTED)
        rows.append(Progress(unit, targets.get(unit.id), recorded,
                             int(totals.get("approved") or 0)))
    return rows


def children_progress(unit: Unit) -> list[Progress]:
    """The leaderboard below a unit: its children by share of their target."""
    children = db.session.scalars(select(Unit).where(Unit.parent_id == unit.id)).all()
    board = progress(children)
    return sorted(board, key=lambda p: (p.percent is None, -(p.percent or 0), -p.recorded))


def daily(unit: Unit, days: int = 30) -> list[tuple[date, int, int, int]]:
    """(day, recorded, verified, approved) for the last ``days`` days, in IST."""
    since = date.today() - timedelta(days=days - 1)
    rows = db.session.execute(
        select(MemberDaily.day, MemberDaily.event, func.sum(MemberDaily.n))
        .join(Unit, Unit.id == MemberDaily.block_id)
        .where(Unit.path.startswith(unit.path), MemberDaily.day >= since)
        .group_by(MemberDaily.day, MemberDaily.event)).all()
    table = {}
    for day, event, n in rows:
        table.setdefault(day, {})[event] = int(n)
    return [(since + timedelta(days=i),
             table.get(since + timedelta(days=i), {}).get("recorded", 0),
             table.get(since + timedelta(days=i), {}).get("verified", 0),
             table.get(since + timedelta(days=i), {}).get("approved", 0)) for i in range(days)]


def days_left(today: date | None = None) -> dict[str, int]:
    today = today or date.today()
    config = current_app.config
    aim, deadline = (date.fromisoformat(config["DRIVE_AIM"]),
                     date.fromisoformat(config["DRIVE_DEADLINE"]))
    return {"aim": (aim - today).days, "deadline": (deadline - today).days,
            "aim_date": aim, "deadline_date": deadline}
