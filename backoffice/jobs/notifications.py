"""The job that sends one SMS notice (services/notifications.py, docs/notifications.md).

The notice's own row decides whether it is sent, not the job: the job commits the
claim before the gateway is asked, so a job redelivered, retried or run again after
its worker died finds the notice taken and sends nothing.
"""

from __future__ import annotations

from backoffice import jobs
from backoffice.services import notifications


@jobs.define("notify.send")
def send(context, id: int) -> dict:  # noqa: A002 - the job's argument name
    outcome = notifications.send(id)
    if outcome == "retry":  # the gateway was down: a new job, after this one is done
        retry = jobs.submit("notify.send", f"notification:{id}", {"id": id}, None)
        return {"outcome": outcome, "retry_job": retry.id}
    return {"outcome": outcome}


BATCH = 500


def submit_preliminary(roll_id: int, claims_until: str, actor=None):
    """The preliminary roll's notices as one job, in the publishing transaction."""
    return jobs.submit("notify.preliminary", f"roll-notices:{roll_id}",
                       {"roll_id": roll_id, "claims_until": claims_until}, actor,
                       key=f"roll:{roll_id}:notify")


@jobs.define("notify.preliminary")
def preliminary(context, roll_id: int, claims_until: str) -> dict:
    """Write a notice for every entry of the roll (those already written are kept, so a
    run after a killed one adds the rest), a batch per commit, then send the roll's
    notices still queued, each at most once (services/notifications.py)."""
    from sqlalchemy import select

    from backoffice.extensions import db
    from backoffice.models import RollEntry
    from backoffice.models.members import MemberNotification

    ref, last, written = f"roll:{roll_id}", 0, 0
    while True:
        members = db.session.scalars(select(RollEntry.member_id).where(
            RollEntry.roll_id == roll_id, RollEntry.member_id > last)
            .order_by(RollEntry.member_id).limit(BATCH)).all()
        if not members:
            break
        for member_id in members:
            written += notifications.enqueue(member_id, "preliminary", ref=ref,
                                             params={"claims_until": claims_until},
                                             job=False) is not None
        last = members[-1]
        db.session.commit()
    context.set_total(written)
    outcomes: dict[str, int] = {}
    waiting = db.session.scalars(select(MemberNotification.id).where(
        MemberNotification.event == "preliminary", MemberNotification.ref == ref,
        MemberNotification.state == "queued").order_by(MemberNotification.id)).all()
    for done, notice_id in enumerate(waiting, 1):
        outcome = notifications.send(notice_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        context.progress(done)
    return {"written": written, "outcomes": outcomes}
