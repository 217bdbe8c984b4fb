"""A large member list export is made by a job: its creator's scope and the list's search,
filters and sort, recomputed when it runs; progress on a page that then offers the file
to its owner alone; audited with the file's row count and hash, once per double click."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.jobs import queue, runner, worker
from backoffice.models import AuditEvent, Job, RoleAssignment, StaffUser
from backoffice.views.base import BoundedCountQuery, ScopedModelView
from tests import factories


@pytest.fixture
def members(app, units):
    with app.test_request_context():
        for n in range(4):
            factories.member(units["BLK-BILHA"], full_name=f"Bilha {n}")
        factories.member(units["BLK-MASTURI"], full_name="=Masturi()", channel="self")
        factories.member(units["BLK-KORBA"], full_name="Korba Person")  # another district
    db.session.commit()


@pytest.fixture
def big(app):
    app.config["EXPORT_JOB_ROWS"] = 3  # these few rows count as a large export


@pytest.fixture
def held(app, monkeypatch):
    """A queue that takes jobs and runs none until the test says (a busy worker)."""
    app.config["JOBS_QUEUE"] = "rq"  # as deployed: the request does not wait for the job
    delivered = []
    monkeypatch.setattr(queue, "deliver", lambda job_id, again=False: delivered.append(job_id))
    return delivered


def _rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _drop_roles(user) -> None:
    for role in db.session.scalars(select(RoleAssignment).where(
            RoleAssignment.user_id == user.id)):
        db.session.delete(role)
    db.session.flush()


def _exports(user) -> list[AuditEvent]:
    """The user's export events (other tests may leave committed ones: the log keeps them)."""
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "member.export", AuditEvent.actor_user_id == user.id)).all()


def test_a_big_export_is_a_job_whose_file_has_the_scope_and_is_audited(
        app, browser, staff, members, big, held):
    district = browser(staff["district"])
    answer = district.get("/admin/members/export/csv/")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(
        "/admin/members/exports/")
    page = district.get("/admin/members/exports/").get_data(as_text=True)
    assert "Being prepared" in page and 'tr data-state="queued"' in page
    assert 'data-reload-while="#list-exports tr[data-state=queued]' in page  # js/poll.js
    assert district.get("/admin/members/export/csv/").status_code == 302  # a double click
    assert len(set(held)) == 1 and db.session.scalar(
        select(func.count()).select_from(Job).where(Job.kind == "list.export")) == 1
    assert _exports(staff["district"]) == []  # nothing exported yet

    assert runner.run(held[0]) == "done"
    assert runner.run(held[0]) == "skipped"  # delivered again: runs once
    page = district.get("/admin/members/exports/").get_data(as_text=True)
    assert f"/admin/members/exports/file/?job={held[0]}" in page
    status = district.get(f"/admin/members/exports/status/?job={held[0]}").get_json()
    assert status["state"] == "done" and status["ready"] and status["progress"] == 5
    answer = district.get(f"/admin/members/exports/file/?job={held[0]}")
    body = answer.get_data()
    rows = _rows(body)
    assert {row[1] for row in rows[1:]} == {"Bilha 0", "Bilha 1", "Bilha 2", "Bilha 3",
                                            "'=Masturi()"}  # Korba's is out of scope
    assert body.decode("utf-8-sig").splitlines()[1].startswith('"')  # every field quoted
    (event,) = _exports(staff["district"])
    details = json.loads(event.details)
    assert details["rows"] == 5 and details["sha256"] == hashlib.sha256(body).hexdigest()
    assert event.actor_user_id == staff["district"].id


def test_the_job_takes_the_lists_search_filters_and_sort(app, browser, staff, members,
                                                         units, big):
    with app.test_request_context():
        for n in range(4):
            factories.member(units["BLK-MASTURI"], full_name=f"सरिता {n}", channel="self")
        factories.member(units["BLK-BILHA"], full_name="सरिता पेपर")  # recorded on paper
    db.session.commit()
    district = browser(staff["district"])
    answer = district.get("/admin/members/export/csv/?flt0_1=self&sort=0&search=सरिता")
    assert answer.status_code == 200  # tests run the job at once, then send its file
    assert db.session.scalar(select(func.count()).select_from(Job).where(
        Job.kind == "list.export")) == 1
    rows = _rows(answer.get_data())[1:]
    assert [row[1] for row in rows] == [f"सरिता {n}" for n in range(4)]
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)
    assert "search=सरिता" in district.get("/admin/members/exports/").get_data(as_text=True)


def test_an_export_job_is_its_owners_only(app, browser, staff, members, big, held):
    browser(staff["district"]).get("/admin/members/export/csv/")
    runner.run(held[0])
    for who in ("state", "bilha", "other_district", "division"):
        other = browser(staff[who])
        for url in ("/admin/members/exports/file/", "/admin/members/exports/status/"):
            assert other.get(f"{url}?job={held[0]}").status_code in (302, 403, 404), who
        assert f"job={held[0]}" not in other.get("/admin/members/exports/").get_data(
            as_text=True)
    owner = browser(staff["district"])
    for bad in ("0", "abc", "-1", str(held[0] + 1000), "1e3", ""):
        assert owner.get(f"/admin/members/exports/file/?job={bad}").status_code == 404
    # the approval queue's file page does not hand out the member list's job
    assert owner.get(f"/admin/queue/exports/file/?job={held[0]}").status_code in (403, 404)


def test_the_job_runs_with_the_scope_its_creator_has_when_it_runs(
        app, browser, staff, members, units, big, held):
    """Roles are read when the job runs: a district president made block president of
    Bilha meanwhile gets Bilha's members only; one whose roles are gone gets none, and
    is told why in their language."""
    user = staff["district"]
    browser(user, lang="hi").get("/admin/members/export/csv/")
    _drop_roles(user)
    db.session.add(RoleAssignment(user_id=user.id, role="block_president",
                                  unit_id=units["BLK-BILHA"].id))
    db.session.commit()
    assert runner.run(held[0]) == "done"
    body = browser(user).get(f"/admin/members/exports/file/?job={held[0]}").get_data()
    assert {row[1] for row in _rows(body)[1:]} == {f"Bilha {n}" for n in range(4)}

    browser(user, lang="hi").get("/admin/members/export/csv/?search=Bilha")
    _drop_roles(user)
    db.session.commit()
    assert runner.run(held[1]) == "failed"
    job = db.session.get(Job, held[1])
    assert json.loads(job.error)["hi"] == "अब आप यह सूची निर्यात नहीं कर सकते।"
    assert len(_exports(user)) == 1  # the failed job recorded no export


def test_a_worker_reads_each_jobs_roles_afresh(app, browser, staff, members, units, big,
                                              held):
    """A worker's context outlives its jobs: what one job cached (the user's roles) must
    not decide the next one's scope."""
    user_id, bilha_id = staff["district"].id, units["BLK-BILHA"].id
    district = browser(staff["district"])
    district.get("/admin/members/export/csv/")
    assert worker.perform(held[0]) == "done"  # (its session ends: ours is a new one)
    _drop_roles(db.session.get(StaffUser, user_id))
    db.session.add(RoleAssignment(user_id=user_id, role="block_president", unit_id=bilha_id))
    db.session.commit()
    district.get("/admin/members/export/csv/?sort=0")
    assert worker.perform(held[1]) == "done"
    body = district.get(f"/admin/members/exports/file/?job={held[1]}").get_data()
    assert {row[1] for row in _rows(body)[1:]} == {f"Bilha {n}" for n in range(4)}


def test_a_small_export_is_still_sent_at_once(app, browser, staff, members, held):
    answer = browser(staff["district"]).get("/admin/members/export/csv/")
    assert answer.status_code == 200 and len(_rows(answer.get_data())) == 1 + 5
    assert held == [] and len(_exports(staff["district"])) == 1


def test_a_job_past_the_lists_count_bound_knows_its_total(app, browser, staff, members,
                                                          big, held, monkeypatch):
    """The list stops counting at its bound; the job counts the rows it will write, so
    its page shows "written / in all"."""
    monkeypatch.setattr(BoundedCountQuery, "bound", 2)
    monkeypatch.setattr(ScopedModelView, "count_bound", 2)
    district = browser(staff["district"])
    district.get("/admin/members/export/csv/")
    assert runner.run(held[0]) == "done"
    status = district.get(f"/admin/members/exports/status/?job={held[0]}").get_json()
    assert (status["progress"], status["total"]) == (5, 5)


def test_each_job_run_logs_its_start_and_end_with_state_and_duration(
        app, browser, staff, members, big, held, caplog):
    caplog.set_level(logging.INFO, logger="backoffice.jobs.runner")
    browser(staff["district"]).get("/admin/members/export/csv/?search=Bilha")
    assert runner.run(held[0]) == "done"
    assert runner.run(held[0]) == "skipped"  # delivered again: no run, no lines
    lines = [r for r in caplog.records if getattr(r, "job_id", None) == held[0]]
    assert [r.getMessage().split(":")[0] for r in lines] == [
        f"job {held[0]} (list.export) started", f"job {held[0]} (list.export) ended"]
    assert lines[1].job_state == "done" and lines[1].duration_ms >= 0
    assert "Bilha" not in " ".join(f"{r.getMessage()} {vars(r)}" for r in lines)
