"""Running counts of members per block and status, kept by database triggers.

Every write path, bulk ones included (COPY, imports, seeding), passes through
the triggers created by migration 0004, so a state-wide dashboard sums a few
hundred rows instead of counting a million.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models.base import Base


class MemberTally(Base):
    __tablename__ = "member_tally"

    block_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
