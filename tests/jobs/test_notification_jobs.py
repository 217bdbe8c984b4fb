"""SMS notices on real workers (two `backoffice worker` processes, PostgreSQL, Redis):
a notice delivered many times to both workers is sent once; a notice a killed worker
had claimed is never sent again."""

from __future__ import annotations

import json

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


BATCH, NOTICES = 10, 60


@pytest.fixture
def twilio():
    from tests.deploy.fake_twilio import FakeTwilio

    stand_in = FakeTwilio("AC" + "0" * 32)
    stand_in.delay = 0.05  # a batch of ten takes half a second: long enough to be killed in
    yield stand_in
    stand_in.stop()


def test_a_worker_killed_mid_batch_resends_nothing_recorded_and_the_rest_go_once(
        make_app, tmp_path, twilio):
    """A preliminary roll's notices, sent in batches by a real worker through a stand-in
    Twilio; the worker is SIGKILLed while a batch is at the gateway. The other worker's
    maintenance reaps its job and a new one sends the notices still queued: nothing the
    first had sent is sent again, nothing still queued is lost."""
    from backoffice.jobs import notifications as notice_jobs
    from backoffice.models import Member
    from tests.jobs.workers import worker_pid

    config = queue_config() | {
        "SMS_GATEWAY": "twilio_messaging", "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": "stand-in", "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": twilio.url, "NOTIFY_BATCH": BATCH,
        "NOTIFY_RETRY_SECONDS": 1, "NOTIFY_PHONE_LIMIT": "100/hour",
        "NOTIFY_RATE_LIMIT": "1000/second"}
    app = make_app(**config)
    roll_id = 900_000 + int(tmp_path.stat().st_ino % 99_999)  # a roll of this test alone
    subject = f"roll-notices:{roll_id}"
    created = {"members": [], "jobs": []}
    with app.app_context(), app.test_request_context():
        before = set(db.session.scalars(select(Unit.id)))
        by_code = load_units(read_units_csv())
        created["units"] = set(db.session.scalars(select(Unit.id))) - before
        members = [factories.member(by_code["BLK-BILHA"], status="approved")
                   for _ in range(NOTICES)]
        db.session.flush()
        created["members"] = [m.id for m in members]
        for member in members:
            notifications.enqueue(member.id, "preliminary", ref=f"roll:{roll_id}",
                                  params={"claims_until": "15/12/2026"}, job=False)
        first = notice_jobs.submit_preliminary(roll_id, "15/12/2026")
        db.session.commit()
        first_id = first.id
    workers = Workers(config, tmp_path)
    try:
        with app.app_context(), app.test_request_context():
            queue.deliver(first_id)
            phones = dict(db.session.execute(select(Member.id, Member.mobile).where(
                Member.id.in_(created["members"]))).all())

            def states():
                return dict(db.session.execute(select(
                    MemberNotification.member_id, MemberNotification.state).where(
                    MemberNotification.member_id.in_(created["members"]))).all())

            job = wait_for(lambda: (lambda j, s: j if j.state == "running" and "sending" in s
                                    and s.count("sent") >= 2 * BATCH else None)(
                db.session.get(Job, first_id), list(states().values())), 60,
                "a batch at the gateway after two sent", workers)
            workers.kill(worker_pid(job))
            at_kill = states()
            recorded = {m for m, state in at_kill.items() if state == "sent"}
            waiting = {m for m, state in at_kill.items() if state == "queued"}
            assert recorded and waiting and "sending" in at_kill.values()  # mid-batch

            wait_for(lambda: db.session.get(Job, first_id).state == "failed", 30,
                     "the reaper", workers)
            wait_for(lambda: "queued" not in states().values(), 60,
                     "the notices still queued sent by a new job", workers)
            wait_for(lambda: all(j.state in ("done", "failed") for j in db.session.scalars(
                select(Job).where(Job.subject == subject))), 30, "the jobs finished",
                workers)
            final = states()
            with twilio.lock:
                counts = {}
                for to, _body in twilio.sent:
                    counts[to] = counts.get(to, 0) + 1
            assert max(counts.values()) == 1  # no number heard twice
            assert all(counts.get(phones[m]) == 1 for m in recorded)  # sent once, not again
            assert all(final[m] == "sent" and counts.get(phones[m]) == 1 for m in waiting)
            # What the killed worker had claimed and not recorded stays "sending": at most
            # one batch, never sent again (it may or may not have gone out).
            unsure = {m for m, state in final.items() if state == "sending"}
            assert len(unsure) <= BATCH and set(final.values()) <= {"sent", "sending"}
            events = [json.loads(d)["notice"] for d in db.session.scalars(select(
                AuditEvent.details).where(AuditEvent.action == "member.notified",
                                          AuditEvent.entity_id.in_(created["members"])))]
            assert len(events) == len(set(events)) == list(final.values()).count("sent")
    finally:
        workers.stop()
        with app.app_context():
            db.session.rollback()
            db.session.execute(delete(MemberNotification).where(
                MemberNotification.member_id.in_(created["members"])))
            created["jobs"] += db.session.scalars(select(Job.id).where(
                Job.subject == subject)).all()
            db.session.commit()
            remove_committed(created)
