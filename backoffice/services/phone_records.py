"""Wrong codes per phone number, across every code and member, with growing waits."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from backoffice.extensions import db
from backoffice.models import PhoneRecord

_FAR_FUTURE = timedelta(days=3650)
_STEP = 5  # wrong codes in a row before each wait


def wait_seconds(phone: str, now: datetime) -> int:
    return wait_of(db.session.get(PhoneRecord, phone), now)


def wait_of(record: PhoneRecord | None, now: datetime) -> int:
    """wait_seconds() of a phone whose record (or None) the caller has read."""
    if record is None or record.blocked_until is None or record.blocked_until <= now:
        return 0
    return int((record.blocked_until - now).total_seconds()) + 1


def count_failure(phone: str, now: datetime) -> int:
    """Add one wrong code (atomically, as an upsert) and set the wait it earns."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(PhoneRecord).values(phone=phone, failures=1, updated_at=now)
    failures = db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[PhoneRecord.phone],
            set_={"failures": PhoneRecord.failures + 1, "updated_at": now})
        .returning(PhoneRecord.failures)).scalar_one()
    config = current_app.config
    blocked_until = None
    if failures >= config["OTP_PHONE_FAILURE_CAP"]:
        blocked_until = now + _FAR_FUTURE  # until the district office clears it
    elif failures % _STEP == 0:
        blocked_until = now + timedelta(
            seconds=config["OTP_FAILURE_WAIT_SECONDS"] * 2 ** (failures // _STEP - 1))
    if blocked_until is not None:
        db.session.execute(update(PhoneRecord).where(PhoneRecord.phone == phone)
                           .values(blocked_until=blocked_until))
    db.session.expire_all()
    return failures


def forgive(phone: str) -> None:
    """A right code lifts a short wait; the lifetime count of wrong codes stays."""
    config = current_app.config
    db.session.execute(update(PhoneRecord).where(
        PhoneRecord.phone == phone, PhoneRecord.failures < config["OTP_PHONE_FAILURE_CAP"])
        .values(blocked_until=None))
