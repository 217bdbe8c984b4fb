"""Membership cards issued (services/cards.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models.base import Base, utcnow


class MemberCard(Base):
    """One issued card: its public random id, the member, and the statement's hash.

    A card stops verifying when ``revoked_at`` is set (a newer card superseded it)
    or its member is no longer approved or was erased (services/cards.revoked_ids)."""

    __tablename__ = "member_card"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[str] = mapped_column(String(16), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    statement_sha256: Mapped[str] = mapped_column(String(64))
