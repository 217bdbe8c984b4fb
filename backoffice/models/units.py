"""Organisational units: state (PCC) > division > district > block > zone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, utcnow

LEVELS = ("state", "division", "district", "block", "zone")


def level_depth(level: str) -> int:
    """0 for state, 4 for zone: higher means a smaller unit."""
    return LEVELS.index(level)


class Unit(Base):
    """One unit of the party organisation.

    ``path`` is the materialised chain of ids from the state down to this unit
    ("/1/4/20/"), so "everything under unit X" is one indexed prefix match and
    a district split only rewrites the moved subtree's paths.
    """

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(
        Enum(*LEVELS, name="unit_level", native_enum=False, create_constraint=True, length=10)
    )
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_hi: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    # True for blocks the demo generated where no real list was shipped.
    is_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the state down to and including this unit."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def name_for(self, locale: str) -> str:
        return self.name_hi if locale == "hi" and self.name_hi else self.name_en

    def __str__(self) -> str:  # what Flask-Admin shows in lists and selects
        from flask_babel import get_locale

        locale = get_locale()
        return self.name_for(locale.language if locale else "en")
