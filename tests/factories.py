"""factory_boy factories for the domain, flushing into the test's session."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import factory
from factory.alchemy import SQLAlchemyModelFactory

from backoffice.auth.passwords import hash_password
from backoffice.extensions import db
from backoffice.models import Member, RoleAssignment, StaffUser, Unit
from backoffice.services.units import ancestors

PASSWORD = "correct horse battery"
_mobiles = itertools.count(9_812_000_000)
_epics = itertools.count(1_000_000)


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class StaffFactory(_Base):
    class Meta:
        model = StaffUser

    # Letters only (names with digits are refused); "Staff bcd" for n=123.
    full_name = factory.Sequence(lambda n: "Staff " + "".join(chr(97 + int(d)) for d in str(n)))
    email = factory.Sequence(lambda n: f"staff{n}@example.test")
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))
    active = True
    session_version = 1
    failed_logins = 0
    totp_enabled = False


def staff_with_role(role: str, unit: Unit, **kwargs) -> StaffUser:
    user = StaffFactory(**kwargs)
    db.session.add(RoleAssignment(user_id=user.id, role=role, unit_id=unit.id))
    db.session.flush()
    return user


def member(block: Unit, *, zone: Unit | None = None, **kwargs) -> Member:
    """A valid member in ``block``, its ancestors filled in as the services do."""
    up = ancestors(block)
    values = {
        "full_name": "सुनीता साहू",
        "relative_name": "रामलाल साहू",
        "relation": "father",
        "gender": "female",
        "date_of_birth": date(1990, 5, 17),
        "mobile": f"+91{next(_mobiles)}",
        "epic": f"TST{next(_epics):07d}",
        "address": "ग्राम बिल्हा",
        "booth_no": "12",
        "division_id": up["division"],
        "district_id": up["district"],
        "block_id": block.id,
        "zone_id": zone.id if zone else None,
        "channel": "enroller",
        "status": "recorded",
    } | kwargs
    row = Member(**values)
    db.session.add(row)
    db.session.flush()
    return row


def approved(block: Unit, **kwargs) -> Member:
    """An approved, phone-verified member recorded on 1 Nov 2026 (before the rolls' cut-off)."""
    values = {"status": "approved", "verified_at": datetime(2026, 11, 1),
              "created_at": datetime(2026, 11, 1)} | kwargs
    return member(block, **values)


def delete_members_for_real(*where) -> None:
    """Remove members a test committed for real the way the app would delete a row: one
    audited delete each, so `audit verify --state` in a later test still finds every
    gone row explained (a bulk DELETE would leave rows no event accounts for)."""
    from sqlalchemy import delete, select

    from backoffice.models import MemberCard
    from backoffice.models.members import MemberNotification

    members = db.session.scalars(select(Member).where(*where)).all()
    ids = [member.id for member in members]
    for model in (MemberNotification, MemberCard):  # rows that only exist for the member
        db.session.execute(delete(model).where(model.member_id.in_(ids)))
    for member in members:
        db.session.delete(member)
    db.session.flush()


def preliminary_roll(officer, unit: Unit, title: str, cut_off, claims_until, *, today=None):
    """A roll of ``unit`` frozen at ``cut_off`` and published with ``claims_until``."""
    from backoffice.services import rolls

    roll = rolls.create(officer, unit, cut_off, title)
    rolls.freeze(officer, roll.id)
    rolls.publish(officer, roll.id, claims_until, today=today)
    return roll
