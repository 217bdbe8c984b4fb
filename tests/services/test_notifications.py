"""SMS notices: one per event whatever the retries, redeliveries or worker deaths;
opt-out honoured except for the legally needed notice."""

import re

import pytest
from sqlalchemy import select, update

from backoffice import sms
from backoffice.extensions import db
from backoffice.jobs import runner
from backoffice.models.members import MemberNotification
from backoffice.services import cards, notifications, workflow
from backoffice.sms.base import GatewayError
from tests import factories


def outbox(app, phone):
    with app.app_context():
        return [m.text for m in sms.gateway().outbox if m.phone == phone]


def test_an_approval_sends_one_notice_however_often_it_is_delivered(app, units, staff):
    member = factories.member(units["BLK-BILHA"], status="phone_verified")
    workflow.apply(staff["bilha"], "approve", [member.id])
    db.session.commit()
    notice = db.session.scalar(select(MemberNotification))
    job_ids = db.session.info[notifications.DISPATCH][:]
    notifications.dispatch_waiting()
    for job_id in job_ids:  # the queue delivers the job again: nothing more is sent
        runner.run(job_id)
    assert notifications.enqueue(member.id, "approved") is None  # a retried decision
    texts = outbox(app, member.mobile)
    assert len(texts) == 1 and "स्वीकृत" in texts[0]
    token = re.search(r"https?://\S+/card/([^/\s]+)\.png", texts[0]).group(1)
    assert cards.member_for_token(token).id == member.id  # the member's own card link
    db.session.refresh(notice)
    assert notice.state == "sent"


def test_a_notice_claimed_by_a_worker_that_died_is_never_sent_again(app, units, staff):
    member = factories.member(units["BLK-BILHA"], status="approved")
    notifications.enqueue(member.id, "approved")
    db.session.commit()
    notice = db.session.scalar(select(MemberNotification))
    # The worker claimed it and was killed before the gateway answered.
    db.session.execute(update(MemberNotification).values(state="sending"))
    db.session.commit()
    assert notifications.send(notice.id) == "taken"
    assert outbox(app, member.mobile) == []


def test_a_gateway_outage_is_retried_and_then_sent_once(app, units, staff, monkeypatch):
    member = factories.member(units["BLK-BILHA"], status="rejected", status_reason="Under 18")
    notifications.enqueue(member.id, "rejected")
    db.session.commit()
    notice_id = db.session.scalar(select(MemberNotification.id))
    with app.app_context():
        gateway = sms.gateway()
    real = gateway.send_code

    def down(*args):
        raise GatewayError("unavailable", 503)

    monkeypatch.setattr(gateway, "send_code", down)
    assert notifications.send(notice_id) == "retry"
    monkeypatch.setattr(gateway, "send_code", real)
    assert notifications.send(notice_id) == "sent"
    assert notifications.send(notice_id) == "taken"
    texts = outbox(app, member.mobile)
    assert len(texts) == 1 and "Under 18" in texts[0]


@pytest.mark.parametrize(("event", "sent"), [("approved", False), ("preliminary", True)])
def test_an_opted_out_member_gets_only_the_legally_needed_notice(app, units, event, sent):
    member = factories.member(units["BLK-BILHA"], status="approved", sms_opt_out=True)
    notifications.enqueue(member.id, event, ref="roll:1",
                          params={"claims_until": "15/12/2026"})
    db.session.commit()
    notice_id = db.session.scalar(select(MemberNotification.id))
    assert notifications.send(notice_id) == ("sent" if sent else "skipped")
    assert len(outbox(app, member.mobile)) == (1 if sent else 0)


def test_an_approval_undone_before_the_send_is_not_announced(app, units, staff):
    member = factories.member(units["BLK-BILHA"], status="phone_verified")
    workflow.apply(staff["bilha"], "approve", [member.id])
    db.session.commit()
    workflow.undo(staff["bilha"], [member.id])
    db.session.commit()
    notifications.dispatch_waiting()
    assert outbox(app, member.mobile) == []
    assert notifications.states(member.id) == {"approved": "skipped"}


def test_publishing_a_preliminary_roll_tells_each_entry_once_with_the_claims_deadline(
        app, units, staff):
    from datetime import date, timedelta

    from backoffice.services import rolls

    cut_off = date(2026, 11, 15)
    members = [factories.approved(units["BLK-BILHA"]) for _ in range(3)]
    members[0].sms_opt_out = True  # the legally needed notice reaches them anyway
    roll = rolls.create(staff["ro"], units["DIST-BILASPUR"], cut_off, "ज़िला सम्मेलन 2026")
    rolls.freeze(staff["ro"], roll.id)
    rolls.publish(staff["ro"], roll.id, cut_off + timedelta(days=10), today=cut_off)
    db.session.commit()
    job_ids = db.session.info[notifications.DISPATCH][:]
    notifications.dispatch_waiting()
    for job_id in job_ids:  # delivered again: nothing more
        runner.run(job_id)
    for member in members:
        texts = outbox(app, member.mobile)
        assert len(texts) == 1 and "25/11/2026" in texts[0]


def _approved_sharing_a_phone(units, count):
    members = [factories.member(units["BLK-BILHA"], status="approved") for _ in range(count)]
    for member in members[1:]:
        member.mobile = members[0].mobile  # a family's one phone
    db.session.flush()
    return members


def _due(job_id):
    """Bring a job's run_after to now (the time it waits for has passed)."""
    from backoffice.models import Job, utcnow

    db.session.execute(update(Job).where(Job.id == job_id).values(run_after=utcnow()))
    db.session.commit()


def test_a_notice_over_its_numbers_limit_waits_and_is_then_sent_once(app, units):
    from backoffice.models import AuditEvent, Job

    app.config["NOTIFY_PHONE_LIMIT"] = "1/hour"
    first, second = _approved_sharing_a_phone(units, 2)
    for member in (first, second):
        notifications.enqueue(member.id, "approved")
    db.session.commit()
    job_ids = db.session.info.pop(notifications.DISPATCH)
    results = [runner.run(job_id) for job_id in job_ids]
    assert results == ["done", "done"]
    assert notifications.states(first.id) == {"approved": "sent"}
    assert notifications.states(second.id) == {"approved": "queued"}  # deferred, not dropped
    assert len(outbox(app, first.mobile)) == 1
    retry = db.session.scalar(select(Job).where(Job.kind == "notify.send",
                                                Job.state == "queued"))
    assert retry.run_after is not None
    assert runner.run(retry.id) == "skipped"  # a delivery before its time runs nothing
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.entity_id == second.id, AuditEvent.action.like("member.notify%"))) \
        == "member.notify_deferred"
    for job_id in job_ids:  # the first jobs delivered again: nothing more
        runner.run(job_id)
    assert len(outbox(app, first.mobile)) == 1

    app.config["NOTIFY_PHONE_LIMIT"] = "2/hour"  # the hour has passed, as it were
    _due(retry.id)
    assert runner.run(retry.id) == "done"
    assert notifications.states(second.id) == {"approved": "sent"}
    assert len(outbox(app, first.mobile)) == 2  # each member's notice, once
    runner.run(retry.id)
    assert len(outbox(app, first.mobile)) == 2


def test_notices_over_the_senders_rate_wait_for_a_later_job_and_go_once(app, units, staff):
    from datetime import date, timedelta

    from backoffice.models import Job
    from backoffice.services import rolls

    app.config["NOTIFY_RATE_LIMIT"] = "2/hour"
    members = [factories.approved(units["BLK-BILHA"]) for _ in range(3)]
    cut_off = date(2026, 11, 15)
    roll = rolls.create(staff["ro"], units["DIST-BILASPUR"], cut_off, "ज़िला सम्मेलन 2026")
    rolls.freeze(staff["ro"], roll.id)
    rolls.publish(staff["ro"], roll.id, cut_off + timedelta(days=10), today=cut_off)
    db.session.commit()
    notifications.dispatch_waiting()
    heard = [len(outbox(app, m.mobile)) for m in members]
    assert sorted(heard) == [0, 1, 1]  # two went; the third waits for the rate
    later = db.session.scalar(select(Job).where(Job.kind == "notify.preliminary",
                                                Job.state == "queued"))
    assert later is not None and later.run_after is not None
    assert runner.run(later.id) == "skipped"

    app.config["NOTIFY_RATE_LIMIT"] = "20/second"
    _due(later.id)
    assert runner.run(later.id) == "done"
    assert [len(outbox(app, m.mobile)) for m in members] == [1, 1, 1]
    assert {s for m in members for s in notifications.states(m.id).values()} == {"sent"}


def test_the_providers_too_many_answer_defers_the_notice_without_using_a_try(
        app, units, monkeypatch):
    member = factories.member(units["BLK-BILHA"], status="rejected", status_reason="Under 18")
    notifications.enqueue(member.id, "rejected")
    db.session.commit()
    notice_id = db.session.scalar(select(MemberNotification.id))
    with app.app_context():
        gateway = sms.gateway()
    real = gateway.send_code

    def too_many(*args):
        raise GatewayError("too_many", 429)

    monkeypatch.setattr(gateway, "send_code", too_many)
    assert notifications.send(notice_id) == "deferred"
    notice = db.session.get(MemberNotification, notice_id)
    assert (notice.state, notice.attempts) == ("queued", 0)
    monkeypatch.setattr(gateway, "send_code", real)
    assert notifications.send(notice_id) == "sent"
    assert notifications.send(notice_id) == "taken"
    assert len(outbox(app, member.mobile)) == 1


def test_a_preliminary_run_that_dies_is_followed_by_one_that_sends_the_rest_once(
        app, units, monkeypatch):
    import json

    from backoffice.jobs import notifications as notice_jobs
    from backoffice.models import Job

    members = [factories.approved(units["BLK-BILHA"]) for _ in range(5)]
    for member in members:
        notifications.enqueue(member.id, "preliminary", ref="roll:77",
                              params={"claims_until": "15/12/2026"}, job=False)
    first = notice_jobs.submit_preliminary(77, "15/12/2026")
    db.session.commit()
    first_id = first.id
    app.config["NOTIFY_BATCH"] = 2
    real = notifications.send_batch
    calls = []

    def dies_on_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the worker is gone")  # as a kill mid-job, for the job
        return real(*args, **kwargs)

    monkeypatch.setattr(notifications, "send_batch", dies_on_the_second_batch)
    assert runner.run(first_id) == "failed"
    monkeypatch.setattr(notifications, "send_batch", real)
    heard = [len(outbox(app, m.mobile)) for m in members]
    assert heard == [1, 1, 0, 0, 0]  # the first batch went and was recorded
    follow = db.session.scalar(select(Job).where(Job.kind == "notify.preliminary",
                                                 Job.state == "queued"))
    assert json.loads(follow.args)["failed"] == 1 and follow.run_after is not None
    _due(follow.id)
    assert runner.run(follow.id) == "done"
    assert [len(outbox(app, m.mobile)) for m in members] == [1, 1, 1, 1, 1]
