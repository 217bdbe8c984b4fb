"""Membership rolls for the organisational elections: a frozen snapshot per unit."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models.base import Base, utcnow

ROLL_STATES = ("draft", "frozen", "preliminary", "final")
CLAIM_KINDS = ("claim", "objection")
CLAIM_STATES = ("pending", "accepted", "rejected")


def _enum(values, name, length):
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


class Roll(Base):
    """The electorate of one unit's election, as of a cut-off date.

    draft -> frozen (entries snapshotted) -> preliminary (published; claims and
    objections until ``claims_until``) -> final (immutable).
    """

    __tablename__ = "roll"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(150))
    cut_off: Mapped[date]
    status: Mapped[str] = mapped_column(_enum(ROLL_STATES, "roll_status", 12), default="draft")
    claims_until: Mapped[date | None]
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    frozen_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    finalised_at: Mapped[datetime | None]

    def __str__(self) -> str:
        return self.title


class RollEntry(Base):
    """One member on a roll, copied at the freeze: later edits to the member do not
    reach it. ``removed`` marks an upheld objection (the serial is not reused)."""

    __tablename__ = "roll_entry"
    __table_args__ = (
        UniqueConstraint("roll_id", "member_id"),
        Index("ix_roll_entry_order", "roll_id", "booth_key", "booth_no", "serial"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    roll_id: Mapped[int] = mapped_column(ForeignKey("roll.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    membership_no: Mapped[str] = mapped_column(String(16))
    booth_no: Mapped[str] = mapped_column(String(12))
    booth_key: Mapped[int] = mapped_column(Integer)  # numeric part, for booth order
    serial: Mapped[int] = mapped_column(Integer)
    full_name: Mapped[str] = mapped_column(String(150))
    relative_name: Mapped[str] = mapped_column(String(150))
    relation: Mapped[str] = mapped_column(String(10))
    gender: Mapped[str] = mapped_column(String(10))
    age: Mapped[int] = mapped_column(Integer)
    block_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    added_by_claim: Mapped[bool] = mapped_column(Boolean, default=False)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    removed_reason: Mapped[str | None] = mapped_column(Text)


class RollClaim(Base):
    """A claim (a member is missing) or an objection (someone should not be there)."""

    __tablename__ = "roll_claim"

    id: Mapped[int] = mapped_column(primary_key=True)
    roll_id: Mapped[int] = mapped_column(ForeignKey("roll.id"), index=True)
    kind: Mapped[str] = mapped_column(_enum(CLAIM_KINDS, "roll_claim_kind", 10))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(_enum(CLAIM_STATES, "roll_claim_status", 10),
                                        default="pending")
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
