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
from backoffice.i18n import indian_number
from backoffice.labels import label
from backoffice.models import MemberDaily, MemberTally, Unit, UnitTarget, utcnow
from backoffice.services.errors import NotFound, ValidationError

COUNTED = ("recorded", "phone_verified", "approved")  # rejected and revoked do not count


def set_target(actor, unit: Unit, target: int) -> UnitTarget:
    """Set one unit's target (set_targets with one)."""
    return set_targets(actor, {unit: target})[0]


def set_targets(actor, targets: dict[Unit, int]) -> list[UnitTarget]:
    """Set several units' targets at once (a level's, from one form). A state admin
    sets any; a district head the district's blocks.

    Checked after all are written, so a form may move members from one unit's
    target to another's: below any unit, the targets may not add up to more than
    its own.
    """
    rows = []
    for unit, target in targets.items():
        if unit is None or not _may_set(actor, unit):
            raise NotFound(_l("No such unit in your scope."))
        if target < 0 or target > 10 ** 8:
            raise ValidationError(_l("A target is a whole number of members."), field="target")
        row = db.session.get(UnitTarget, unit.id) or UnitTarget(unit_id=unit.id)
        row.target, row.set_by_id, row.set_at = target, actor.id, utcnow()
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    parents = {unit.parent_id for unit in targets if unit.parent_id is not None}
    for parent_id in sorted(parents | {unit.id for unit in targets}):
        _check_split(parent_id)
    return rows


def _check_split(parent_id: int) -> None:
    """The targets of a unit's children add up to at most its own (when it has one)."""
    parent = db.session.get(UnitTarget, parent_id)
    if parent is None:
        return
    below = db.session.scalar(
        select(func.coalesce(func.sum(UnitTarget.target), 0))
        .join(Unit, Unit.id == UnitTarget.unit_id).where(Unit.parent_id == parent_id)) or 0
    if below > parent.target:
        unit = db.session.get(Unit, parent_id)
        raise ValidationError(_l("The targets below %(unit)s would add up to more than its "
                                 "own target (%(n)s).",
                                 unit=f"{label('level', unit.level)} {unit}",
                                 n=indian_number(parent.target)), field="target")


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
