"""Members: the people the drive enrols."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice import phonetic
from backoffice.models.base import Base, utcnow
from backoffice.models.staff import StaffUser
from backoffice.models.units import Unit

STATUSES = ("recorded", "phone_verified", "approved", "rejected", "revoked")
CHANNELS = ("enroller", "self", "paper")
GENDERS = ("female", "male", "other")
RELATIONS = ("father", "husband")


def _enum(values: tuple[str, ...], name: str, length: int) -> Enum:
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


class Member(Base):
    """A primary member of the party.

    The member's block and its ancestors (district, division) are stored on the
    row, so every scoped list is one indexed equality at a million rows. They
    are kept right by services.units.move_unit when a block changes district.
    """

    __tablename__ = "member"
    __table_args__ = (
        Index("ix_member_block_list", "block_id", "id"),
        Index("ix_member_block_status", "block_id", "status", "id"),
        Index("ix_member_district_list", "district_id", "id"),
        Index("ix_member_district_status", "district_id", "status", "id"),
        Index("ix_member_division_list", "division_id", "id"),
        Index("ix_member_zone_list", "zone_id", "id"),
        Index("ix_member_status_list", "status", "id"),
        # Windows of recent signups (dashboards, audit reports): a range, not the block;
        # with the enroller, so the signups-per-enroller leaderboard reads the index only.
        Index("ix_member_block_recent", "block_id", "created_at", "recorded_by_id"),
        Index("ix_member_district_recent", "district_id", "created_at", "recorded_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(150))
    relative_name: Mapped[str] = mapped_column(String(150))
    # The name's words as Latin phonetic keys, whichever script it was typed in, and a
    # digest of name, relative's name and birth year (backoffice/phonetic.py), kept by
    # the listeners below (bulk inserts add them themselves); erasure empties the name and
    # so them. The search key's trigram index is PostgreSQL's (migration 0015).
    search_key: Mapped[str | None] = mapped_column(String(300))
    duplicate_key: Mapped[str | None] = mapped_column(String(20), index=True)
    relation: Mapped[str] = mapped_column(_enum(RELATIONS, "member_relation", 10))
    gender: Mapped[str] = mapped_column(_enum(GENDERS, "member_gender", 10))
    date_of_birth: Mapped[date]
    mobile: Mapped[str] = mapped_column(String(16), index=True)
    epic: Mapped[str | None] = mapped_column(String(10), unique=True)
    address: Mapped[str] = mapped_column(Text, default="")
    booth_no: Mapped[str | None] = mapped_column(String(12))

    division_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    block_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))

    photo_path: Mapped[str | None] = mapped_column(String(255))
    photo_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # The picture hash (services/photos.py): the same picture on several members,
    # even re-encoded or resized, is an audit report line.
    photo_phash: Mapped[str | None] = mapped_column(String(16), index=True)
    fee_receipt_no: Mapped[str | None] = mapped_column(String(40))
    consent_notice_version: Mapped[str | None] = mapped_column(String(20))
    consent_at: Mapped[datetime | None]

    channel: Mapped[str] = mapped_column(_enum(CHANNELS, "member_channel", 10))
    status: Mapped[str] = mapped_column(_enum(STATUSES, "member_status", 16), default="recorded")
    status_reason: Mapped[str | None] = mapped_column(Text)

    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    # Members from a paper-form import carry their batch (uploader, receipt books, file hash).
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"),
                                                        index=True)
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    rejected_at: Mapped[datetime | None]
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    # Personal data erased at the member's request (services/erasure.py); who did it
    # is in the audit log.
    erased_at: Mapped[datetime | None]
    # The member's own recruiter link (/r/<code>), and who recruited them through one
    # (services/referrals.py); no SMS but the ones the law needs (docs/notifications.md).
    ref_code: Mapped[str | None] = mapped_column(String(12), unique=True, index=True)
    referrer_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    referrer_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    sms_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)

    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    division: Mapped[Unit] = relationship(foreign_keys=[division_id])
    district: Mapped[Unit] = relationship(foreign_keys=[district_id])
    block: Mapped[Unit] = relationship(foreign_keys=[block_id])
    zone: Mapped[Unit | None] = relationship(foreign_keys=[zone_id])
    recorded_by: Mapped[StaffUser | None] = relationship(foreign_keys=[recorded_by_id])
    verified_by: Mapped[StaffUser | None] = relationship(foreign_keys=[verified_by_id])
    approved_by: Mapped[StaffUser | None] = relationship(foreign_keys=[approved_by_id])
    rejected_by: Mapped[StaffUser | None] = relationship(foreign_keys=[rejected_by_id])
    revoked_by: Mapped[StaffUser | None] = relationship(foreign_keys=[revoked_by_id])

    def __str__(self) -> str:
        return self.full_name


_KEY_SOURCES = ("full_name", "relative_name", "date_of_birth")


@event.listens_for(Member, "before_insert")
def _keys_on_insert(mapper, connection, member: Member) -> None:
    """Every ORM write (a signup, a correction, an erasure) leaves the keys matching the
    names: set on the row being flushed, they go out in the same INSERT or UPDATE."""
    member.search_key = phonetic.search_key(member.full_name)
    member.duplicate_key = phonetic.duplicate_key(member.full_name, member.relative_name,
                                                  member.date_of_birth)


@event.listens_for(Member, "before_update")
def _keys_on_update(mapper, connection, member: Member) -> None:
    """Only when a name or the birth date changed: a status change touches nothing, and
    reads no column a partly loaded row (a list page's load_only) does not hold."""
    attrs = inspect(member).attrs
    if any(attrs[name].history.has_changes() for name in _KEY_SOURCES):
        _keys_on_insert(mapper, connection, member)


NOTIFICATION_EVENTS = ("approved", "rejected", "preliminary")


class MemberNotification(Base):
    """One SMS notice to a member about one event, at most once: the row is written
    with the event (services/notifications.py), its unique key is the notice's
    idempotency key, and the job that sends it claims it (docs/notifications.md)."""

    __tablename__ = "member_notification"
    __table_args__ = (
        UniqueConstraint("member_id", "event", "ref", name="ux_member_notification_once"),
        Index("ix_member_notification_state", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    event: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(40), default="")  # e.g. the roll's id
    # queued -> sending -> sent | failed | skipped (opted out, erased, no longer true)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[str] = mapped_column(Text, default="{}")
    provider_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
