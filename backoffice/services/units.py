"""The hierarchy: loading units, adding them, and moving a unit (a district split)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from backoffice import audit
from backoffice.extensions import db
from backoffice.models import LEVELS, Member, Unit, level_depth
from backoffice.services.errors import ServiceError

SHIPPED_UNITS = Path(__file__).resolve().parent.parent / "data" / "chhattisgarh-units.csv"

# Which member column holds the member's ancestor at each level.
MEMBER_COLUMNS = {
    "division": "division_id",
    "district": "district_id",
    "block": "block_id",
    "zone": "zone_id",
}


def read_units_csv(path: Path = SHIPPED_UNITS) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def create_unit(
    *, level: str, code: str, name_en: str, name_hi: str, parent: Unit | None,
    is_generated: bool = False,
) -> Unit:
    """Add a unit exactly one level below its parent (the state has none)."""
    if level not in LEVELS:
        raise ServiceError(_l("Unknown unit level."))
    expected_parent = LEVELS[level_depth(level) - 1] if level != "state" else None
    if (parent.level if parent else None) != expected_parent:
        raise ServiceError(_l("A unit must sit directly under a unit one level above it."))
    unit = Unit(
        level=level, code=code, name_en=name_en, name_hi=name_hi, parent=parent,
        is_generated=is_generated,
    )
    db.session.add(unit)
    db.session.flush()  # the id is part of the path
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    return unit


def load_units(rows: Iterable[dict[str, str]], *, is_generated: bool = False) -> dict[str, Unit]:
    """Create the units of ``rows`` (level, code, parent_code, name_en, name_hi), parents first.

    Existing codes are left as they are, so loading twice changes nothing.
    """
    by_code = {unit.code: unit for unit in db.session.scalars(select(Unit))}
    for row in sorted(rows, key=lambda r: level_depth(r["level"])):
        if row["code"] in by_code:
            continue
        parent = by_code.get(row["parent_code"]) if row["parent_code"] else None
        by_code[row["code"]] = create_unit(
            level=row["level"], code=row["code"], name_en=row["name_en"],
            name_hi=row["name_hi"], parent=parent, is_generated=is_generated,
        )
    return by_code


def ancestors(unit: Unit) -> dict[str, int]:
    """{level: id} for the unit and every unit above it.

    Every unit sits exactly one level below its parent (create_unit, move_unit), so a
    path from the state down to the unit names one unit per level in order: read from
    the path, with no query. A path of another length (a tree without its state) asks
    the database."""
    ids = unit.ancestor_ids
    if ids and ids[-1] == unit.id and len(ids) == level_depth(unit.level) + 1:
        return dict(zip(LEVELS[:len(ids)], ids, strict=True))
    levels = dict(db.session.execute(select(Unit.id, Unit.level).where(Unit.id.in_(ids))).all())
    return {levels[unit_id]: unit_id for unit_id in ids}


def move_unit(unit: Unit, new_parent: Unit) -> int:
    """Put ``unit`` (and its subtree) under ``new_parent``; return members rescoped.

    Paths of the whole subtree are rewritten, and every member under the unit
    gets the new ancestors stored on its row, so scoped queries stay right.
    """
    if new_parent.level != LEVELS[level_depth(unit.level) - 1]:
        raise ServiceError(_l("A unit must sit directly under a unit one level above it."))
    if new_parent.path.startswith(unit.path):
        raise ServiceError(_l("A unit cannot be moved under itself."))
    old_path = unit.path
    new_path = f"{new_parent.path}{unit.id}/"
    for node in db.session.scalars(select(Unit).where(Unit.path.startswith(old_path))):
        node.path = new_path + node.path[len(old_path):]
    unit.parent_id = new_parent.id  # the column, so the audit log sees the change
    db.session.flush()
    db.session.expire(unit, ["parent"])

    new_ancestors = ancestors(new_parent)
    values = {
        MEMBER_COLUMNS[level]: unit_id
        for level, unit_id in new_ancestors.items()
        if level in MEMBER_COLUMNS
    }
    column = getattr(Member, MEMBER_COLUMNS[unit.level]) if unit.level in MEMBER_COLUMNS else None
    if column is None or not values:
        return 0
    old = db.session.execute(select(Member.id, Member.block_id, Member.district_id,
                                    Member.division_id).where(column == unit.id)).all()
    db.session.execute(
        update(Member).where(column == unit.id).values(**values),
        execution_options={"synchronize_session": False, "audited": True},
    )
    for member_id, block_id, district_id, division_id in old:  # one event per member
        was = {"district_id": district_id, "division_id": division_id, "block_id": block_id}
        audit.record("member.rescope", entity_type="member", entity_id=member_id,
                     unit_id=values.get("block_id", block_id),
                     changes={k: [was[k], v] for k, v in values.items() if was.get(k) != v},
                     details={"moved_unit": unit.id})
    db.session.expire_all()  # members already loaded must not keep their old district
    return len(old)
