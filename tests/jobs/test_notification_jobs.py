"""SMS notices on real workers (two `backoffice worker` processes, PostgreSQL, Redis):
a notice delivered many times to both workers is sent once; a notice a killed worker
had claimed is never sent again."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from backoffice.extensions import db
from backoffice.jobs import queue
from backoffice.models import AuditEvent, Job, Unit
from backoffice.models.members import MemberNotification
from backoffice.services import notifications
from backoffice.services.units import load_units, read_units_csv
from tests import factories
from tests.conftest import POSTGRES_URL
from tests.jobs.workers import REDIS_URL, Workers, queue_config, remove_committed, wait_for

pytestmark = [
    pytest.mark.postgres_only, pytest.mark.slow,
    pytest.mark.skipif(not (POSTGRES_URL and REDIS_URL),
                       reason="needs PostgreSQL and Redis (BACKOFFICE_TEST_DATABASE_URL, "
                              "BACKOFFICE_TEST_REDIS_URL)"),
]


@pytest.fixture
def world(make_app, tmp_path):
    config = queue_config()
    app = make_app(**config)
    created = {}
    with app.app_context(), app.test_request_context():
        before = set(db.session.scalars(select(Unit.id)))
        by_code = load_units(read_units_csv())
        member = factories.member(by_code["BLK-BILHA"], status="approved")
        db.session.commit()
        created |= {"units": set(db.session.scalars(select(Unit.id))) - before,
                    "members": [member.id], "jobs": []}
    workers = Workers(config, tmp_path)
    try:
        yield app, workers, created
    finally:
        workers.stop()
        with app.app_context():
            db.session.execute(delete(MemberNotification).where(
                MemberNotification.member_id.in_(created["members"])))
            created["jobs"] += db.session.scalars(select(Job.id).where(
                Job.subject.like("notification:%"), Job.kind == "notify.send")).all()
            db.session.commit()
            remove_committed(created)


def sent_events(notice_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "member.notified",
        AuditEvent.details.contains(f'"notice":{notice_id}')))


def test_a_notice_delivered_again_and_again_to_two_workers_is_sent_once(world):
    app, workers, created = world
    with app.app_context():
        member_id = created["members"][0]
        job = notifications.enqueue(member_id, "approved")
        db.session.commit()  # handed to the queue after the commit
        job_id = job.id
        for _ in range(5):  # redeliveries, to whichever worker takes them
            queue.deliver(job_id, again=True)
        notice = wait_for(lambda: db.session.scalar(select(MemberNotification).where(
            MemberNotification.member_id == member_id, MemberNotification.state == "sent")),
            60, "the notice sent", workers)
        wait_for(lambda: db.session.get(Job, job_id).state == "done", 30, "the job done",
                 workers)
        assert notice.attempts == 1 and notice.provider_id
        assert sent_events(notice.id) == 1
        assert notifications.enqueue(member_id, "approved") is None  # the event again


def test_a_notice_claimed_by_a_killed_worker_is_not_sent_by_the_next(world):
    app, workers, created = world
    with app.app_context():
        member_id = created["members"][0]
        job = notifications.enqueue(member_id, "approved")
        db.session.flush()
        # As a worker leaves it when SIGKILLed between its claim and the gateway's answer.
        db.session.execute(MemberNotification.__table__.update().where(
            MemberNotification.member_id == member_id).values(state="sending", attempts=1))
        db.session.commit()
        job_id = job.id
        wait_for(lambda: db.session.get(Job, job_id).state == "done", 60, "the job done",
                 workers)
        notice = db.session.scalar(select(MemberNotification).where(
            MemberNotification.member_id == member_id))
        assert (notice.state, notice.attempts, notice.provider_id) == ("sending", 1, None)
        assert sent_events(notice.id) == 0
