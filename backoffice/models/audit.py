"""The append-only, hash-chained audit log (docs/audit-log.md)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models.base import Base

GENESIS = "0" * 64
_BIG = BigInteger().with_variant(Integer, "sqlite")


class _EventFields:
    """What an event says: the same columns whether it waits to be chained or is chained."""

    occurred_at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC, as hashed
    actor_user_id: Mapped[int | None]
    actor_roles: Mapped[str] = mapped_column(Text, default="[]")
    source_ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(64))
    session_ref: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str | None] = mapped_column(String(20))
    entity_id: Mapped[int | None]
    unit_id: Mapped[int | None]
    changes: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text, default="{}")


class AuditEvent(_EventFields, Base):
    """One thing that happened, at its position in the chain. Never updated or deleted
    (triggers refuse it).

    ``row_hash = SHA-256(0x00 || prev_hash || canonical JSON of the event)``, so
    editing, deleting, reordering or inserting a row breaks the chain at that
    position. Personal values in ``changes`` are keyed HMACs, never raw.
    ``pending_id`` names the ``audit_pending`` row it was chained from (None when
    chained in its own transaction); it is bookkeeping, not hashed.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_entity", "entity_type", "entity_id", "seq"),
        Index("ix_audit_event_unit", "unit_id", "seq"),
        Index("ix_audit_event_actor", "actor_user_id", "seq"),
        Index("ix_audit_event_action", "action", "seq"),
        Index("ix_audit_event_pending_id", "pending_id", unique=True),
    )

    seq: Mapped[int] = mapped_column(_BIG, primary_key=True, autoincrement=False)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)
    pending_id: Mapped[int | None] = mapped_column(_BIG)


class AuditPending(_EventFields, Base):
    """An event committed with its change and not chained yet (PostgreSQL).

    The appender moves it into ``audit_event`` and deletes it in one transaction;
    a trigger refuses to delete one that has no chained copy, and any UPDATE.
    """

    __tablename__ = "audit_pending"
    __table_args__ = {"sqlite_autoincrement": True}  # an id is never handed out twice

    id: Mapped[int] = mapped_column(_BIG, primary_key=True, autoincrement=True)


class AuditHead(Base):
    """The chain's last position: one row, locked by each appending transaction."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(_BIG, default=0)
    row_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
