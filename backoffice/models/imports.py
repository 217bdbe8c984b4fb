"""Paper-form backlog imports: one batch per uploaded file."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models.base import Base, utcnow

IMPORT_STATES = ("uploaded", "checking", "checked", "committing", "committed", "failed")


class ImportBatch(Base):
    """A file of paper forms, checked (dry run) and then committed as one transaction."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    receipt_books: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    stored_path: Mapped[str] = mapped_column(String(300))  # storage name: imports/<sha256>.csv
    sha256: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[str] = mapped_column(Text, default="{}")  # field -> column heading
    status: Mapped[str] = mapped_column(
        Enum(*IMPORT_STATES, name="import_status", native_enum=False, create_constraint=True,
             length=12), default="uploaded")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    valid_rows: Mapped[int] = mapped_column(Integer, default=0)
    rejected_rows: Mapped[int] = mapped_column(Integer, default=0)
    committed_rows: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    committed_at: Mapped[datetime | None]
    # When the uploaded file left storage (retention; its SHA-256 stays in the audit log).
    file_deleted_at: Mapped[datetime | None]


class ImportProblem(Base):
    """Why a row of a batch was refused: its row number (as in the file) and reason."""

    __tablename__ = "import_problem"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
