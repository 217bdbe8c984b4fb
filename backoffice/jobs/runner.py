"""What a worker does with a job id: claim, run with a heartbeat, finish or fail.

Every state change is a conditional UPDATE on the job row, so two deliveries of
one job, a worker and the reaper, or two workers never both act on it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask, current_app, g
from sqlalchemy import or_, select, update

from backoffice import database, jobs
from backoffice.extensions import db
from backoffice.models import Job, StaffUser, utcnow
from backoffice.services.errors import ServiceError

log = logging.getLogger(__name__)
TOKEN = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
_live: dict[int, int] = {}  # this process's running jobs -> rows done (never reaped here)
_totals: dict[int, int | None] = {}


def live_progress(job_id: int) -> int | None:
    return _live.get(job_id)


def live_total(job_id: int) -> int | None:
    """The rows a job of this process expects (on SQLite no heartbeat writes it)."""
    return _totals.get(job_id)


def _token() -> str:
    return f"{TOKEN}:{threading.get_ident() % 100000}"


@dataclass
class Context:
    """What a runner gets: its job, the user who asked, and a way to report progress."""

    job_id: int
    actor: StaffUser | None
    args: dict
    total: int | None = None
    result: dict = field(default_factory=dict)

    def progress(self, rows: int) -> None:
        _live[self.job_id] = rows

    def set_total(self, total: int | None) -> None:
        """Rows expected; written by the heartbeat, never by the job's own transaction
        (which would hold the job row locked and stop the heartbeat)."""
        self.total = _totals[self.job_id] = total


class Heartbeat(threading.Thread):
    """Writes the job's heartbeat and progress on its own connection, every few seconds,
    so other hosts see progress and the reaper sees a live worker. Not on SQLite: its
    one writer is the job itself (the demo reads progress in-process instead)."""

    def __init__(self, app: Flask, job_id: int, token: str) -> None:
        super().__init__(daemon=True, name=f"job-{job_id}-heartbeat")
        self.app, self.job_id, self.token = app, job_id, token
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = self.app.config["JOB_HEARTBEAT_SECONDS"]
        with self.app.app_context():
            while not self.stopped.wait(interval):
                try:
                    with db.engine.begin() as connection:
                        connection.execute(update(Job).where(
                            Job.id == self.job_id, Job.state == "running",
                            Job.worker == self.token).values(
                            heartbeat_at=utcnow(), progress=_live.get(self.job_id, 0),
                            total=_totals.get(self.job_id)))
                except Exception:  # noqa: BLE001 - a missed beat is retried; never fatal
                    log.warning("job %s: heartbeat not written", self.job_id)

    def stop(self) -> None:
        self.stopped.set()


def _shared() -> bool:
    return db.engine.dialect.name != "sqlite" and \
        current_app.config.get("JOBS_QUEUE") != "inline"


def run(job_id: int) -> str:
    """Run one delivered job; says what happened. It runs in its own app context: an
    empty session and a fresh ``g``, whatever context calls it (a worker's lives as
    long as the worker), so nothing a job caches there (a user's roles, unit names in
    their language) decides the next job."""
    app = current_app._get_current_object()
    writes = g.get("database_writes", False)  # run inline by a writing request: its way
    request_id = g.get("request_id")  # ...and its id, on the job's log lines
    with app.app_context(), app.test_request_context():
        g.database_writes = writes  # (SQLite's BEGIN IMMEDIATE, docs/sqlite.md)
        database.long_statements()  # no web time-outs (docs/postgresql.md)
        g.request_id = request_id
        return _run(job_id)


def _run(job_id: int) -> str:
    jobs._load_runners()
    token = _token()
    now = utcnow()
    claimed = db.session.execute(update(Job).where(
        Job.id == job_id, Job.state == "queued",
        or_(Job.run_after.is_(None), Job.run_after <= now)).values(
        state="running", worker=token, started_at=now, heartbeat_at=now,
        attempts=Job.attempts + 1))
    db.session.commit()
    if claimed.rowcount != 1:
        return "skipped"  # delivered again, running or finished elsewhere, or not due yet
    _live[job_id] = 0
    kind = db.session.scalar(select(Job.kind).where(Job.id == job_id))
    log.info("job %s (%s) started", job_id, kind, extra={"job_id": job_id, "job_kind": kind})
    started, state = time.perf_counter(), "failed"
    beat = Heartbeat(current_app._get_current_object(), job_id, token) if _shared() else None
    if beat:
        beat.start()
    try:
        state = _execute(job_id, token)
        return state
    finally:
        if beat:
            beat.stop()
        _live.pop(job_id, None)
        _totals.pop(job_id, None)
        duration = round((time.perf_counter() - started) * 1000, 1)
        log.info("job %s (%s) ended: %s in %s ms", job_id, kind, state, duration,
                 extra={"job_id": job_id, "job_kind": kind, "job_state": state,
                        "duration_ms": duration})


def _execute(job_id: int, token: str) -> str:
    job = db.session.get(Job, job_id)
    spec, args = jobs.RUNNERS[job.kind], json.loads(job.args)
    actor = db.session.get(StaffUser, job.created_by_id) if job.created_by_id else None
    context = Context(job_id, actor, args)
    try:
        result = spec.run(context, **args) or {}
        if spec.after is not None:
            result["following"] = True  # not offered until after() has added its part
        finished = db.session.execute(update(Job).where(
            Job.id == job_id, Job.state == "running", Job.worker == token).values(
            state="done", active_key=None, finished_at=utcnow(), result=json.dumps(result),
            progress=_live.get(job_id, 0), total=_totals.get(job_id)))
        if finished.rowcount != 1:  # reaped meanwhile: the reaper's decision stands
            db.session.rollback()
            return "lost"
        db.session.commit()
        if spec.after is not None:
            _after(job_id, spec, result)
        return "done"
    except Exception as error:  # noqa: BLE001 - every failure is recorded on the job
        db.session.rollback()
        if not isinstance(error, ServiceError):
            log.exception("job %s (%s) failed", job_id, spec.kind)
        message = error.message if isinstance(error, ServiceError) else jobs.STOPPED
        _fail(job_id, spec, args, message, Job.worker == token)
        return "failed"


def _after(job_id: int, spec, result: dict) -> None:
    """The follow-up of a committed job; its failure leaves the job done without it."""
    result.pop("following", None)
    try:
        more = spec.after(result) or {}
    except Exception:  # noqa: BLE001 - the job's own work is committed and stays
        db.session.rollback()
        log.exception("job %s: follow-up failed", job_id)
        more = {}
    db.session.execute(update(Job).where(Job.id == job_id)
                       .values(result=json.dumps(result | more)))
    db.session.commit()


def _fail(job_id: int, spec, args: dict, message, condition) -> bool:
    """Mark the job failed (if still running under condition) and hand its subject back,
    in one transaction."""
    failed = db.session.execute(update(Job).where(
        Job.id == job_id, Job.state == "running", condition).values(
        state="failed", active_key=None, finished_at=utcnow(),
        error=jobs.in_languages(message)))
    if failed.rowcount == 1 and spec.on_fail is not None:
        spec.on_fail(args)
    db.session.commit()
    return failed.rowcount == 1


def reap() -> dict:
    """Fail running jobs whose heartbeat stopped (their worker died: SIGKILL, a host
    lost), other than this process's own, and hand their subjects back."""
    jobs._load_runners()
    cutoff = utcnow() - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    stale = db.session.execute(select(Job.id, Job.kind, Job.args).where(
        Job.state == "running", Job.heartbeat_at < cutoff)).all()
    db.session.rollback()
    reaped = 0
    for job_id, kind, args in stale:
        if job_id in _live:
            continue
        try:
            reaped += _fail(job_id, jobs.RUNNERS[kind], json.loads(args), jobs.LOST,
                            Job.heartbeat_at < cutoff)
        except Exception:  # noqa: BLE001 - e.g. a lock timeout; the next round retries
            db.session.rollback()
            log.warning("job %s: not reaped this time", job_id)
    return {"reaped": reaped}


def redeliver() -> int:
    """Deliver again jobs queued for a while: the process that committed one may have
    died before handing it over, or the queue lost it. A job runs once regardless."""
    now = utcnow()
    cutoff = now - timedelta(seconds=current_app.config["JOB_REDELIVER_SECONDS"])
    # A job that waited for its run_after is handed over as soon as it is due.
    waiting = db.session.scalars(select(Job.id).where(Job.state == "queued", or_(
        Job.run_after <= now, Job.run_after.is_(None) & (Job.created_at < cutoff)))).all()
    db.session.rollback()
    from backoffice.jobs import queue

    for job_id in waiting:
        queue.deliver(job_id, again=True)
    return len(waiting)
