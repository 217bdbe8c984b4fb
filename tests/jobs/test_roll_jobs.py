"""Roll files as jobs: asked for on the roll's page, shown while being prepared, then
offered; audited and signed as before; kept for their owner only, for a while."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from backoffice import storage
from backoffice.extensions import db
from backoffice.jobs import queue, retention, runner
from backoffice.models import AuditEvent, Job, utcnow
from backoffice.services import rolls
from tests.factories import approved


@pytest.fixture
def roll(ctx, units, staff):
    approved(units["BLK-BILHA"], full_name="प्रियंका त्रिपाठी", booth_no="4")
    approved(units["BLK-MASTURI"], full_name="Kavita Yadav", booth_no="4")
    made = rolls.create(staff["ro"], units["DIST-BILASPUR"], date(2026, 11, 15), "सम्मेलन")
    rolls.freeze(staff["ro"], made.id)
    rolls.publish(staff["ro"], made.id, date.today())
    db.session.commit()
    return made


@pytest.fixture
def held(app, monkeypatch):
    """A queue that takes jobs and runs none until the test says (a busy worker)."""
    app.config["JOBS_QUEUE"] = "rq"  # as deployed: the request does not wait for the job
    delivered = []
    monkeypatch.setattr(queue, "deliver", lambda job_id, again=False: delivered.append(job_id))
    return delivered


def test_a_roll_file_is_prepared_then_offered_with_its_manifest(app, browser, staff, roll,
                                                                held):
    ro = browser(staff["ro"])
    page = f"/admin/rolls/details/?id={roll.id}"
    answer = ro.get(f"/admin/rolls/download/?id={roll.id}&format=csv")
    assert answer.status_code == 302 and page in answer.headers["Location"]
    shown = ro.get(page).get_data(as_text=True)
    assert "The file is being prepared" in shown and "Being prepared" in shown
    # the page looks again until it is ready (static/js/poll.js reads the attribute)
    assert 'data-reload-while="#roll-files tr[data-state=queued]' in shown
    assert "js/poll.js" in shown
    again = ro.get(f"/admin/rolls/download/?id={roll.id}&format=csv")  # a double click
    assert again.status_code == 302 and len(set(held)) == 1  # the same job

    assert runner.run(held[0]) == "done"  # the worker gets to it
    shown = ro.get(page).get_data(as_text=True)
    assert f"/admin/rolls/file/?job={held[0]}" in shown
    answer = ro.get(f"/admin/rolls/file/?job={held[0]}")
    body = answer.get_data()
    assert [r[3] for r in csv.reader(io.StringIO(body.decode("utf-8-sig")))][1:] == [
        "प्रियंका त्रिपाठी", "Kavita Yadav"]
    manifest = json.loads(base64.b64decode(answer.headers["X-Sadasya-Manifest"]))
    assert manifest["sha256"] == hashlib.sha256(body).hexdigest() and manifest["rows"] == 2
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "roll.export", AuditEvent.entity_id == roll.id)).one()
    assert json.loads(event.details)["sha256"] == manifest["sha256"]
    kept = ro.get(f"/admin/rolls/manifest/?id={roll.id}&seq={event.seq}")
    assert kept.status_code == 200 and json.loads(kept.get_data())["sha256"] == \
        manifest["sha256"]


def test_a_roll_file_is_its_owners_only(app, browser, staff, units, roll):
    ro = browser(staff["ro"])
    assert ro.get(f"/admin/rolls/download/?id={roll.id}&format=xlsx").status_code == 200
    job = db.session.scalars(select(Job).where(  # tests that commit leave jobs of others
        Job.kind == "roll.export", Job.created_by_id == staff["ro"].id)).one()
    for who in ("district", "state", "bilha"):
        assert browser(staff[who]).get(f"/admin/rolls/file/?job={job.id}").status_code in (
            403, 404), who
    for bad in ("0", "abc", "-1", str(job.id + 1000), "1e3"):
        assert ro.get(f"/admin/rolls/file/?job={bad}").status_code == 404


def test_a_failed_roll_file_says_why_in_hindi(app, browser, staff, roll, held):
    app.config["ROLL_PDF_MAX_LINES"] = 1  # too long for one PDF
    ro = browser(staff["ro"], lang="hi")
    ro.get(f"/admin/rolls/download/?id={roll.id}&format=pdf")
    assert runner.run(held[0]) == "failed"
    page = ro.get(f"/admin/rolls/details/?id={roll.id}").get_data(as_text=True)
    assert "बूथ-वार PDF की ZIP" in page
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "roll.export", AuditEvent.entity_id == roll.id)) == 0


def test_roll_files_leave_storage_after_their_retention(app, browser, staff, roll):
    ro = browser(staff["ro"])
    ro.get(f"/admin/rolls/download/?id={roll.id}&format=csv")
    job = db.session.scalars(select(Job).where(
        Job.kind == "roll.export", Job.created_by_id == staff["ro"].id)).one()
    name = json.loads(job.result)["file"]
    assert storage.exists(name)
    db.session.execute(update(Job).where(Job.id == job.id).values(
        finished_at=utcnow() - timedelta(hours=app.config["EXPORT_RETENTION_HOURS"] + 1)))
    db.session.commit()
    assert retention.purge_export_files() == 1
    assert not storage.exists(name)
    assert ro.get(f"/admin/rolls/file/?job={job.id}").status_code == 404
    assert "No longer kept" in ro.get(f"/admin/rolls/details/?id={roll.id}").get_data(
        as_text=True)
