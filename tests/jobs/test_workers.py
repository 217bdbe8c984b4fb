"""Jobs on real workers (two `backoffice worker` processes, PostgreSQL, Redis): a worker
killed with SIGKILL in the middle of an import commit leaves no member behind, the job is
reaped by the other worker, the batch is retried and commits each valid row once; a job
delivered to both workers runs once."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime

import pytest
from sqlalchemy import func, select, update

from backoffice import jobs, storage
from backoffice.extensions import db
from backoffice.jobs import imports as import_jobs
from backoffice.jobs import rolls as roll_jobs
from backoffice.models import (
    AuditEvent,
    ImportBatch,
    Job,
    Member,
    Roll,
    StaffUser,
    Unit,
)
from backoffice.models.audit import AuditPending
from backoffice.services import imports, rolls
from backoffice.services.units import load_units, read_units_csv
from tests import factories
from tests.conftest import POSTGRES_URL
from tests.jobs.workers import (
    REDIS_URL,
    Workers,
    queue_config,
    remove_committed,
    wait_for,
    worker_pid,
)
from tests.services.test_imports import HEAD

pytestmark = [
    pytest.mark.postgres_only, pytest.mark.slow,
    pytest.mark.skipif(not (POSTGRES_URL and REDIS_URL),
                       reason="needs PostgreSQL and Redis (BACKOFFICE_TEST_DATABASE_URL, "
                              "BACKOFFICE_TEST_REDIS_URL)"),
]
ROWS = 30_000
ZIP_ROWS = 20_000  # a ZIP of several seconds, long enough to be killed half-way


def forms_csv(rows: int) -> bytes:
    """Valid paper forms; every third has no voter ID (once inserted twice by a double
    click)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEAD)
    for n in range(rows):
        writer.writerow(["सुनीता साहू", "रामलाल साहू", "पिता", "महिला", "17/05/1990",
                         f"98{n:08d}", "" if n % 3 == 0 else f"WKR{n:07d}", "ग्राम बिल्हा",
                         "12", "Bilha"])
    return ("\ufeff" + buffer.getvalue()).encode()


@pytest.fixture
def world(make_app, tmp_path):
    config = queue_config()
    app = make_app(**config)
    created = {}
    with app.app_context(), app.test_request_context(headers={"Cookie": "lang=en"}):
        before = set(db.session.scalars(select(Unit.id)))
        by_code = load_units(read_units_csv())
        head = factories.staff_with_role("district_president", by_code["DIST-BILASPUR"])
        db.session.commit()
        created |= {"units": set(db.session.scalars(select(Unit.id))) - before,
                    "users": [head.id], "batches": [], "jobs": [], "files": []}
    workers = Workers(config, tmp_path)
    try:
        yield app, workers, created
    finally:
        workers.stop()
        with app.app_context():
            remove_committed(created)


def submit(app, batch_id: int, step: str) -> int:
    with app.app_context(), app.test_request_context():
        batch = db.session.get(ImportBatch, batch_id)
        actor = db.session.get(StaffUser, batch.uploaded_by_id)
        job = import_jobs.submit(actor, batch, step)
        assert job is not None
        db.session.commit()
        jobs.dispatch(job)
        return job.id


def test_sigkill_during_an_import_commit_leaves_nothing_and_the_retry_commits_once(world):
    app, workers, created = world
    with app.app_context(), app.test_request_context():
        head = db.session.get(StaffUser, created["users"][0])
        batch = imports.upload(head, db.session.get(Unit, db.session.scalar(
            select(Unit.id).where(Unit.code == "DIST-BILASPUR"))), forms_csv(ROWS),
            "forms.csv", "501-560")
        db.session.commit()
        batch_id = batch.id
        created["batches"].append(batch_id)
        created["files"].append(batch.stored_path)

    created["jobs"].append(submit(app, batch_id, "check"))
    with app.app_context():
        wait_for(lambda: db.session.get(ImportBatch, batch_id).status == "checked", 120,
                 "the check", workers)
        assert db.session.get(ImportBatch, batch_id).valid_rows == ROWS

    first = submit(app, batch_id, "commit")
    created["jobs"].append(first)
    with app.app_context():
        job = wait_for(lambda: (lambda j: j if j.state != "queued" and (
            j.state != "running" or j.progress > 0) else None)(db.session.get(Job, first)), 60,
            "the commit to be under way", workers)
        assert job.state == "running", (job.state, job.started_at, job.finished_at, job.error)
        killed = worker_pid(job)
        workers.kill(killed)  # SIGKILL: no handler runs, the transaction is cut off
        assert db.session.scalar(select(func.count()).select_from(Member).where(
            Member.import_batch_id == batch_id)) == 0
        assert db.session.get(ImportBatch, batch_id).status == "committing"

        # The surviving worker's maintenance reaps the job and hands the batch back.
        wait_for(lambda: db.session.get(Job, first).state == "failed", 30,
                 "the reaper", workers)
        assert db.session.get(ImportBatch, batch_id).status == "checked"
        assert "restarted" in json.loads(db.session.get(Job, first).error)["en"]
        assert db.session.scalar(select(func.count()).select_from(Member).where(
            Member.import_batch_id == batch_id)) == 0

    retry = submit(app, batch_id, "commit")
    created["jobs"].append(retry)
    with app.app_context(), app.test_request_context():
        jobs.dispatch(retry)  # delivered twice: the other worker (or the same) skips it
        wait_for(lambda: db.session.get(Job, retry).state in ("done", "failed"), 180,
                 "the retry", workers)
        assert db.session.get(Job, retry).state == "done", workers.logs()
        counted = db.session.execute(select(
            func.count(), func.count(func.distinct(Member.mobile))).where(
            Member.import_batch_id == batch_id)).one()
        assert tuple(counted) == (ROWS, ROWS)  # each valid row once
        assert db.session.get(ImportBatch, batch_id).committed_rows == ROWS
        # One event, chained or (for a moment after the worker's commit) still waiting
        # for the appender (docs/audit-log.md, Throughput).
        assert sum(db.session.scalar(select(func.count()).select_from(table).where(
            table.action == "import.commit", table.entity_id == batch_id))
            for table in (AuditEvent, AuditPending)) == 1
        assert killed not in workers.pids and len(workers.pids) == 1
        # A double submit now: the batch is committed, nothing is queued.
        batch = db.session.get(ImportBatch, batch_id)
        assert import_jobs.submit(db.session.get(StaffUser, created["users"][0]), batch,
                                  "commit") is None


def test_sigkill_while_writing_a_roll_zip_leaves_no_file_nor_event_and_the_retry_makes_one(
        world):
    app, workers, created = world
    with app.app_context(), app.test_request_context():
        district = db.session.scalars(select(Unit).where(Unit.code == "DIST-BILASPUR")).one()
        head = db.session.get(StaffUser, created["users"][0])
        officer = factories.staff_with_role("returning_officer", district)
        created["users"].append(officer.id)
        batch = imports.upload(head, district, forms_csv(ZIP_ROWS), "roll-forms.csv", "801")
        created["batches"].append(batch.id)
        created["files"].append(batch.stored_path)
        imports.check(head, batch.id)
        batch.status = "checked"
        imports.commit(head, batch.id)
        db.session.execute(update(Member).where(Member.import_batch_id == batch.id).values(
            status="approved", verified_at=datetime(2026, 11, 1),
            created_at=datetime(2026, 11, 1)), execution_options={"audited": True})
        roll = rolls.create(officer, district, date(2026, 11, 15), "SIGKILL roll")
        created.setdefault("rolls", []).append(roll.id)
        rolls.freeze(officer, roll.id)
        db.session.commit()  # a frozen roll's file (publishing would send 20,000 notices)
        roll_id = roll.id
        assert roll.entry_count == ZIP_ROWS
        job = roll_jobs.submit(officer, roll, "pdf-zip")
        db.session.commit()
        first = job.id
        jobs.dispatch(first)

    def events() -> int:  # chained, or waiting a moment for the appender
        return sum(db.session.scalar(select(func.count()).select_from(table).where(
            table.action == "roll.export", table.entity_id == roll_id))
            for table in (AuditEvent, AuditPending))

    with app.app_context():
        job = wait_for(lambda: (lambda j: j if j.state != "queued" and (
            j.state != "running" or j.progress > 0) else None)(db.session.get(Job, first)), 60,
            "the ZIP to be under way", workers)
        assert job.state == "running", (job.state, job.error)
        workers.kill(worker_pid(job))
        wait_for(lambda: db.session.get(Job, first).state == "failed", 30, "the reaper",
                 workers)
        assert events() == 0
        assert not storage.exists(f"exports/job-{first}.zip")

    with app.app_context(), app.test_request_context():
        officer = db.session.get(StaffUser, created["users"][-1])
        retry = roll_jobs.submit(officer, db.session.get(Roll, roll_id), "pdf-zip")
        db.session.commit()
        jobs.dispatch(retry)
        wait_for(lambda: db.session.get(Job, retry.id).state == "failed" or jobs.status(
            db.session.get(Job, retry.id))["ready"], 180, "the retry", workers)
        done = db.session.get(Job, retry.id)
        assert done.state == "done", (done.error, workers.logs())
        assert events() == 1
        result = jobs.result_of(done)
        with zipfile.ZipFile(io.BytesIO(storage.read(result["file"]))) as archive:
            assert archive.namelist() and all(n.endswith(".pdf") for n in archive.namelist())
        assert result["details"]["rows"] == ZIP_ROWS == result["manifest"]["rows"]
