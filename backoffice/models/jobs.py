"""Jobs: long work (imports, roll files, big exports) done by a worker, not a request.

The row is the job's truth, readable from every app host: its state, progress,
heartbeat and result. The queue only delivers job ids (docs/jobs.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models.base import Base, utcnow

JOB_STATES = ("queued", "running", "done", "failed")


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_subject", "subject", "id"),
        Index("ix_job_state_heartbeat", "state", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    # What the job is about ("import:12", "roll:3"): the page of that thing finds it.
    subject: Mapped[str] = mapped_column(String(60))
    # Set while queued or running: a second submit of the same work finds the first.
    active_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    args: Mapped[str] = mapped_column(Text, default="{}")
    state: Mapped[str] = mapped_column(
        Enum(*JOB_STATES, name="job_state", native_enum=False, create_constraint=True,
             length=10), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)  # {"en": ..., "hi": ...}
    result: Mapped[str | None] = mapped_column(Text)  # JSON: the file's storage name, details
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    worker: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Not claimed before this (a deferred SMS notice); maintenance delivers it when due.
    run_after: Mapped[datetime | None]
