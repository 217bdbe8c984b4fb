"""Phone verification by SMS one-time code, and the delivery reports of SMS sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models.base import Base, utcnow

VERIFICATION_STATES = ("pending", "approved", "expired", "failed", "canceled")


class PhoneVerification(Base):
    """One code, bound to one member and one phone number.

    ``code_hash`` is an HMAC of the code (and of the member and phone), so the
    database never holds a usable code; it is empty when Twilio Verify makes
    and checks the code itself.
    """

    __tablename__ = "phone_verification"
    __table_args__ = (Index("ix_phone_verification_member", "member_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    phone: Mapped[str] = mapped_column(String(16), index=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(
        Enum(*VERIFICATION_STATES, name="verification_status", native_enum=False,
             create_constraint=True, length=10), default="pending")
    checks: Mapped[int] = mapped_column(Integer, default=0)
    sends: Mapped[int] = mapped_column(Integer, default=0)
    gateway: Mapped[str] = mapped_column(String(20))
    provider_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]


class PhoneRecord(Base):
    """What we know of a phone number across all codes: its failed checks.

    NIST SP 800-63B 5.2.2: wrong codes for one number stay well under 100 in
    a row, with growing waits, whatever member or code they were for.
    """

    __tablename__ = "phone_record"

    phone: Mapped[str] = mapped_column(String(16), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SmsStatusEvent(Base):
    """A delivery report from Twilio, stored once however often it is sent."""

    __tablename__ = "sms_status_event"
    __table_args__ = (UniqueConstraint("message_sid", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(10))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class JoinSignup(Base):
    """A signup on the public join page, known to its browser only by a random handle.

    The cookie holds the handle, the same whether the signup made a member or
    was refused (its voter ID or phone already registered), so the page cannot
    be used to find out who is a member. A refused signup (``member_id`` None)
    plays out the code step on this row's counts, under the rules of a real
    code, and nothing is sent.
    """

    __tablename__ = "join_signup"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"),
                                                  index=True)
    phone: Mapped[str | None] = mapped_column(String(16))  # a refused signup's number
    sends: Mapped[int] = mapped_column(Integer, default=0)
    checks: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # A /status lookup is a row of the same kind (migration 0020, docs/status.md): its
    # own code's HMAC, a keyed hash of the number or voter ID typed (its limits), and
    # when its code was checked.
    purpose: Mapped[str] = mapped_column(String(10), default="join", server_default="join")
    code_hash: Mapped[str | None] = mapped_column(String(64))
    lookup_key: Mapped[str | None] = mapped_column(String(64))
    checked_at: Mapped[datetime | None]
