"""Shared file storage in the database: one row per file, its bytes in chunks.

Every app host reads the same files; they are backed up, restored and erased
with the rows that own them (docs/storage.md). Chunks keep memory bounded: a
file of tens of MB is written and read a megabyte at a time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models.base import Base, utcnow


class StoredFile(Base):
    __tablename__ = "stored_file"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)  # relative, e.g. photos/ab/…
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredChunk(Base):
    __tablename__ = "stored_chunk"

    name: Mapped[str] = mapped_column(
        ForeignKey("stored_file.name", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
