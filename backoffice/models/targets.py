"""Drive targets per unit, and daily counts of the drive's steps per block."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models.base import Base, utcnow


class UnitTarget(Base):
    """How many new members a unit is to enrol (the state's split down the hierarchy)."""

    __tablename__ = "unit_target"

    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    target: Mapped[int] = mapped_column(Integer)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberDaily(Base):
    """Members recorded, phone-verified and approved per block per day (IST), kept by
    triggers (migration 0008) so the dashboard's chart never scans members."""

    __tablename__ = "member_daily"

    block_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
