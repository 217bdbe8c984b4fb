"""Import check and commit as jobs: one run per submit or delivery, nothing half-done
after a crash, the batch handed back, reasons in the reader's language."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select, update

from backoffice import jobs, storage
from backoffice.extensions import db
from backoffice.jobs import imports as import_jobs
from backoffice.jobs import retention, runner
from backoffice.models import AuditEvent, ImportBatch, Job, Member, utcnow
from backoffice.services import imports
from tests.services.test_imports import GOOD, csv_bytes, with_

ROWS = [GOOD, with_(c0="", c6=""), with_(c0="दूसरा सदस्य", c5="9876543211", c6="CGA7654321"),
        with_(c0="तीसरा सदस्य", c5="9876543212", c6="")]  # no voter ID: inserted twice once


def checked_batch(staff, units) -> ImportBatch:
    batch = imports.upload(staff["district"], units["DIST-BILASPUR"], csv_bytes(ROWS),
                           "forms.csv", "101")
    job = import_jobs.submit(staff["district"], batch, "check")
    db.session.commit()
    jobs.dispatch(job)
    db.session.refresh(batch)
    assert batch.status == "checked" and batch.valid_rows == 3
    return batch


def members_of(batch) -> list[tuple[str, str]]:
    return db.session.execute(select(Member.full_name, Member.mobile).where(
        Member.import_batch_id == batch.id).order_by(Member.full_name)).all()


def test_a_double_submit_commits_once(app, browser, staff, units, ctx):
    batch = checked_batch(staff, units)
    b = browser(staff["district"])
    page = f"/admin/imports/batch/?id={batch.id}"
    first = b.post(f"/admin/imports/run/?id={batch.id}", {"step": "commit"}, token_from=page)
    second = b.post(f"/admin/imports/run/?id={batch.id}", {"step": "commit"}, token_from=page)
    assert first.status_code == second.status_code == 302
    assert len(members_of(batch)) == 3
    assert db.session.scalar(select(func.count()).select_from(Job).where(
        Job.kind == "import.commit")) == 1
    assert "not possible now" in b.get(page).get_data(as_text=True)


def test_the_same_work_submitted_twice_while_queued_is_one_job(ctx, staff, units):
    batch = checked_batch(staff, units)
    one = jobs.submit("import.commit", f"import:{batch.id}", {"batch_id": batch.id},
                      staff["district"], key=f"import:{batch.id}")
    two = jobs.submit("import.commit", f"import:{batch.id}", {"batch_id": batch.id},
                      staff["district"], key=f"import:{batch.id}")
    assert one.id == two.id


def test_a_redelivered_job_runs_once(ctx, staff, units):
    batch = checked_batch(staff, units)
    job = import_jobs.submit(staff["district"], batch, "commit")
    db.session.commit()
    assert runner.run(job.id) == "done"
    assert runner.run(job.id) == "skipped"  # the queue delivered it again
    jobs.dispatch(job.id)
    assert len(members_of(batch)) == 3
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "import.commit")) == 1


def test_a_worker_lost_mid_commit_is_reaped_and_the_retry_commits_each_row_once(
        app, ctx, staff, units):
    """A worker that claimed the commit and died: its transaction never committed, its
    heartbeat stopped. The reaper fails the job (in both languages) and hands the batch
    back; the retry commits every valid row once."""
    batch = checked_batch(staff, units)
    job = import_jobs.submit(staff["district"], batch, "commit")
    db.session.commit()
    long_ago = utcnow() - timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 5)
    db.session.execute(update(Job).where(Job.id == job.id).values(
        state="running", worker="gone-host:1:dead", started_at=long_ago, heartbeat_at=long_ago))
    db.session.commit()
    assert members_of(batch) == []

    assert jobs.maintain()["reaped"] == 1
    db.session.refresh(batch)
    job = db.session.get(Job, job.id)
    assert (job.state, batch.status) == ("failed", "checked")
    texts = json.loads(job.error)
    assert "restarted" in texts["en"] and "दोबारा" in texts["hi"]
    assert runner.run(job.id) == "skipped"  # a late delivery of the dead job does nothing

    retry = import_jobs.submit(staff["district"], batch, "commit")
    db.session.commit()
    jobs.dispatch(retry)
    assert [name for name, _m in members_of(batch)] == sorted(["सुनीता साहू", "दूसरा सदस्य",
                                                              "तीसरा सदस्य"])


def test_a_running_job_with_a_live_heartbeat_is_not_reaped(app, ctx, staff, units):
    batch = checked_batch(staff, units)
    job = import_jobs.submit(staff["district"], batch, "commit")
    db.session.commit()
    db.session.execute(update(Job).where(Job.id == job.id).values(
        state="running", worker="busy:1:x", started_at=utcnow(), heartbeat_at=utcnow()))
    db.session.commit()
    assert jobs.maintain()["reaped"] == 0
    assert db.session.get(Job, job.id).state == "running"


def test_a_failed_job_says_why_in_the_readers_language(app, browser, ctx, staff, units):
    batch = checked_batch(staff, units)
    job = import_jobs.submit(staff["district"], batch, "commit")
    db.session.commit()
    db.session.execute(update(ImportBatch).where(ImportBatch.id == batch.id)
                       .values(status="checked"))  # moved behind the job's back
    db.session.commit()
    assert runner.run(job.id) == "failed"
    url = f"/admin/imports/progress/?id={batch.id}"
    english = browser(staff["district"], lang="en").get(url).get_json()
    hindi = browser(staff["district"], lang="hi").get(url).get_json()
    assert english["job"]["state"] == "failed"
    assert english["error"] == "This step is not possible now."
    assert hindi["error"] == "यह चरण इस समय संभव नहीं है।"
    assert members_of(batch) == []


def test_uploaded_files_leave_storage_after_retention_their_hash_stays(app, ctx, staff,
                                                                       units):
    committed = checked_batch(staff, units)
    job = import_jobs.submit(staff["district"], committed, "commit")
    db.session.commit()
    jobs.dispatch(job)
    abandoned = imports.upload(staff["district"], units["DIST-BILASPUR"],
                               csv_bytes([with_(c0="अधूरा")]), "other.csv", "102")
    fresh = imports.upload(staff["district"], units["DIST-BILASPUR"],
                           csv_bytes([with_(c0="नया")]), "new.csv", "103")
    db.session.commit()
    past = utcnow() - timedelta(days=app.config["IMPORT_FILE_RETENTION_DAYS"] + 1)
    db.session.execute(update(ImportBatch).where(ImportBatch.id == committed.id)
                       .values(committed_at=past))
    db.session.execute(update(ImportBatch).where(ImportBatch.id == abandoned.id)
                       .values(created_at=past))
    db.session.commit()

    assert retention.purge_import_files() == 2
    for batch in (committed, abandoned):
        db.session.refresh(batch)
        assert batch.file_deleted_at is not None and not storage.exists(batch.stored_path)
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "import.file_deleted", AuditEvent.entity_id == batch.id)).one()
        assert json.loads(event.details)["sha256"] == batch.sha256
    assert abandoned.status == "failed" and committed.status == "committed"
    assert storage.exists(fresh.stored_path)
    assert import_jobs.submit(staff["district"], abandoned, "check") is None


def test_a_queued_job_says_it_waits_for_a_worker(app, browser, ctx, staff, units, monkeypatch):
    from backoffice.jobs import queue

    monkeypatch.setattr(queue, "deliver", lambda job_id, again=False: None)  # no worker yet
    batch = imports.upload(staff["district"], units["DIST-BILASPUR"], csv_bytes(ROWS),
                           "forms.csv", "101")
    db.session.commit()
    b = browser(staff["district"], lang="hi")
    page = f"/admin/imports/batch/?id={batch.id}"
    b.post(f"/admin/imports/run/?id={batch.id}", {"step": "check"}, token_from=page)
    assert "काम शुरू होने की प्रतीक्षा में" in b.get(page).get_data(as_text=True)
    assert b.get(f"/admin/imports/progress/?id={batch.id}").get_json()["job"]["state"] == \
        "queued"
