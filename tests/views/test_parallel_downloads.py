"""Downloads that record themselves in the audit log, several at once, on a committed
database: each answers, none with "database is locked" (docs/sqlite.md)."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
from sqlalchemy import delete, select

from backoffice.extensions import db
from backoffice.models import Member, Roll, RollEntry, StaffUser, Unit
from backoffice.services import rolls
from tests import factories
from tests.conftest import Browser
from tests.jobs.workers import remove_jobs
from tests.services.test_workflow import _committed_race_fixture, _remove_race_fixture

PARALLEL = 8


@pytest.fixture
def published(make_app):
    """A published roll of two members and its returning officer, committed; removed after."""
    app = make_app()
    with app.app_context(), app.test_request_context():
        created = _committed_race_fixture()
        member = db.session.get(Member, created["member"])
        member.status, member.approved_at = "approved", datetime(2026, 11, 1)
        member.created_at = datetime(2026, 11, 1)
        block = db.session.get(Unit, member.block_id)
        district = db.session.get(Unit, member.district_id)
        ro = factories.staff_with_role("returning_officer", district)
        created["users"].append(ro.id)
        other = factories.approved(block)
        roll = rolls.create(ro, district, date(2026, 11, 15), "Parallel downloads")
        rolls.freeze(ro, roll.id)
        rolls.publish(ro, roll.id, date.today())
        db.session.commit()
        created.update(roll=roll.id, ro=ro.id, other=other.id)
    yield app, created
    cleanup = {"audited": True}  # test scaffolding, committed for real and removed here
    with app.app_context():
        remove_jobs(f"roll:{created['roll']}")  # the download jobs and their files
        db.session.execute(delete(RollEntry).where(RollEntry.roll_id == created["roll"]),
                           execution_options=cleanup)
        db.session.execute(delete(Roll).where(Roll.id == created["roll"]),
                           execution_options=cleanup)
        factories.delete_members_for_real(Member.id == created["other"])
        db.session.commit()
        _remove_race_fixture(created)


@pytest.mark.parametrize("url", ["/admin/rolls/download/?id={roll}&format=csv",
                                 "/admin/members/export/csv/"])
def test_parallel_downloads_answer_without_a_server_error(published, url):
    app, created = published
    with app.app_context():
        user = db.session.get(StaffUser, created["ro"] if "rolls" in url else created["users"][0])
        browsers = [Browser(app, user) for _ in range(PARALLEL)]
    statuses, start = [], threading.Barrier(PARALLEL)

    def download(b):
        start.wait(10)
        statuses.append(b.client.get(url.format(roll=created["roll"])).status_code)

    threads = [threading.Thread(target=download, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [200] * PARALLEL
    with app.app_context():
        assert db.session.scalar(select(Roll.status).where(Roll.id == created["roll"]))
