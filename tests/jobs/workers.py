"""Real `backoffice worker` processes for tests: started and killed by the test only,
on the loopback PostgreSQL and Redis the test names, bounded in time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import delete, select

from backoffice.extensions import db
from backoffice.models import (
    ImportBatch,
    ImportProblem,
    Job,
    Member,
    MemberDaily,
    MemberTally,
    RoleAssignment,
    Roll,
    RollEntry,
    StaffUser,
    StoredChunk,
    StoredFile,
    Unit,
)
from tests import factories
from tests.conftest import POSTGRES_URL

REDIS_URL = os.environ.get("BACKOFFICE_TEST_REDIS_URL")
BACKOFFICE = Path(sys.executable).with_name("backoffice")
FAST = {"JOB_HEARTBEAT_SECONDS": 1, "JOB_STALE_SECONDS": 5, "JOB_MAINTENANCE_SECONDS": 2,
        "JOB_REDELIVER_SECONDS": 3}


def queue_config() -> dict:
    """A queue of its own for this test, so nothing another run left is delivered."""
    return FAST | {"JOBS_QUEUE": "rq", "JOBS_REDIS_URL": REDIS_URL,
                   "JOBS_QUEUE_NAME": f"test-{uuid.uuid4().hex[:8]}",
                   "STORAGE_BACKEND": "database"}


class Workers:
    def __init__(self, config: dict, tmp: Path, count: int = 2) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
        env |= {"BACKOFFICE_ENV": "development", "BACKOFFICE_SECRET_KEY": "test-secret",
                "BACKOFFICE_DATABASE_URL": POSTGRES_URL, "BACKOFFICE_SMS_GATEWAY": "memory",
                "BACKOFFICE_AUDIT_SIGNING_KEY": str(tmp / "no-key.pem")}
        env |= {f"BACKOFFICE_{k}": str(v) for k, v in config.items()}
        self.processes = []
        for n in range(count):
            with (tmp / f"worker-{n}.log").open("wb") as log:  # the child keeps its own fd
                self.processes.append(subprocess.Popen(
                    [str(BACKOFFICE), "worker"], env=env, stdout=log,
                    stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True))
        self.tmp = tmp

    @property
    def pids(self) -> set[int]:
        return {p.pid for p in self.processes if p.poll() is None}

    def kill(self, pid: int) -> None:
        """SIGKILL one of the workers this object started (never anything else)."""
        assert pid in self.pids
        os.kill(pid, signal.SIGKILL)
        next(p for p in self.processes if p.pid == pid).wait(10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.tmp.glob("worker-*.log")))


def wait_for(condition, timeout: float, what: str, workers: Workers | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()  # a fresh snapshot each look
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (
        "\n" + workers.logs() if workers else ""))


def worker_pid(job: Job) -> int:
    return int(job.worker.split(":")[1])


def remove_committed(created: dict) -> None:
    """Test scaffolding committed for real: removed here (the audit log keeps its events)."""
    cleanup = {"audited": True}
    batches = created.get("batches", [])
    db.session.rollback()
    for roll_id in created.get("rolls", []):
        remove_jobs(f"roll:{roll_id}")
        db.session.execute(delete(RollEntry).where(RollEntry.roll_id == roll_id),
                           execution_options=cleanup)
        db.session.execute(delete(Roll).where(Roll.id == roll_id), execution_options=cleanup)
    if batches:  # the jobs that ran on them too
        created.setdefault("jobs", []).extend(db.session.scalars(select(Job.id).where(
            Job.subject.in_([f"import:{b}" for b in batches]))))
    if batches:
        factories.delete_members_for_real(Member.import_batch_id.in_(batches))
        db.session.execute(delete(ImportProblem).where(ImportProblem.batch_id.in_(batches)))
    if created.get("members"):
        factories.delete_members_for_real(Member.id.in_(created["members"]))
    for model, column, values in (
            (Job, Job.id, created.get("jobs", [])),
            (ImportBatch, ImportBatch.id, batches),
            (StoredChunk, StoredChunk.name, created.get("files", [])),
            (StoredFile, StoredFile.name, created.get("files", [])),
            (RoleAssignment, RoleAssignment.user_id, created.get("users", [])),
            (StaffUser, StaffUser.id, created.get("users", []))):
        if values:
            db.session.execute(delete(model).where(column.in_(values)),
                               execution_options=cleanup)
    units = created.get("units", set())
    if units:
        db.session.execute(delete(MemberTally).where(MemberTally.block_id.in_(units)))
        db.session.execute(delete(MemberDaily).where(MemberDaily.block_id.in_(units)))
        for unit in sorted(db.session.scalars(select(Unit).where(Unit.id.in_(units))).all(),
                           key=lambda u: -len(u.path)):
            db.session.delete(unit)
            db.session.flush()
    db.session.commit()


def remove_jobs(subject: str) -> None:
    """Jobs about subject (committed for real) and the files they kept; the caller commits."""
    import json

    from backoffice import storage

    for job in db.session.scalars(select(Job).where(Job.subject == subject)).all():
        result = json.loads(job.result or "{}")
        if result.get("file"):
            storage.delete(result["file"])
    if subject.startswith("roll:"):
        for name in db.session.scalars(select(StoredFile.name).where(
                StoredFile.name.startswith(f"manifests/roll-{subject[5:]}-"))).all():
            storage.delete(name)
    db.session.execute(delete(Job).where(Job.subject == subject))
