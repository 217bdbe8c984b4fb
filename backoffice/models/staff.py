"""Staff users of the backoffice and their role assignments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, utcnow
from backoffice.models.units import Unit

# The role names; what each may do lives in backoffice.auth.roles.
ROLES = (
    "state_admin",
    "division_incharge",
    "district_president",
    "block_president",
    "enroller",
    "returning_officer",
)


class StaffUser(Base):
    """A person who logs in to the backoffice (never a member of the public)."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(150))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    mobile: Mapped[str | None] = mapped_column(String(16), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    preferred_locale: Mapped[str | None] = mapped_column(String(5))
    # Bumped on password change: every session carrying the old value ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last TOTP time step accepted: a code is good once (RFC 6238 s.5.2).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The recruiter link's code (/r/<code>), made when first shown (services/referrals.py).
    ref_code: Mapped[str | None] = mapped_column(String(12), unique=True, index=True)

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        foreign_keys="RoleAssignment.user_id",
    )

    # Flask-Login protocol. The session id carries session_version so that a
    # password change (which bumps it) logs out every other session.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __str__(self) -> str:
        return self.full_name


class RoleAssignment(Base):
    """One role held at one unit. A user may hold several."""

    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("user_id", "role", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    role: Mapped[str] = mapped_column(
        Enum(*ROLES, name="staff_role", native_enum=False, create_constraint=True, length=20)
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    user: Mapped[StaffUser] = relationship(back_populates="roles", foreign_keys=[user_id])
    unit: Mapped[Unit] = relationship()
    created_by: Mapped[StaffUser | None] = relationship(foreign_keys=[created_by_id])

    def __str__(self) -> str:
        return f"{self.role} @ {self.unit}"
