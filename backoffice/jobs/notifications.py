"""The jobs that send SMS notices (services/notifications.py, docs/notifications.md).

The notice's own row decides whether it is sent, not the job: the claim is committed
before the gateway is asked, so a job redelivered, retried or run again after its
worker died finds the notice taken and sends nothing. A notice left queued (the
gateway down, a sending limit spent) is tried again by a new job that waits for its
time (``run_after``).
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from backoffice import database, jobs
from backoffice.services import notifications


@jobs.define("notify.send")
def send(context, id: int) -> dict:  # noqa: A002 - the job's argument name
    batch = notifications.send_batch(
        [notifications.MemberNotification.id == id], 1)
    outcome = batch.outcomes.get(id, "deferred" if batch.paused_until else "taken")
    if outcome in ("retry", "deferred"):  # a new job, not before the notice may go
        retry = jobs.submit("notify.send", f"notification:{id}", {"id": id}, None,
                            run_after=notifications.retry_time(batch))
        later(retry)
        return {"outcome": outcome, "retry_job": retry.id}
    return {"outcome": outcome}


BATCH = 500


def later(job) -> None:
    """Deliver a job that waits for its run_after, once committed (the demo's threads;
    workers' maintenance hands it over when due)."""
    from backoffice.extensions import db

    db.session.info.setdefault(LATER, []).append((job.id, job.run_after))


LATER = "notify_later"


@event.listens_for(Session, "after_commit")
def _deliver_later(session) -> None:
    for job_id, when in session.info.pop(LATER, []):
        jobs.dispatch_later(job_id, when)


@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    session.info.pop(LATER, None)


def submit_preliminary(roll_id: int, claims_until: str, actor=None, *, round_=0,
                       failed=0, run_after=None):
    """The preliminary roll's notices as one job, in the publishing transaction; again
    (``round_`` > 0) for the notices a run left queued, or after ``failed`` runs died."""
    key = f"roll:{roll_id}:notify" if not round_ else None
    return jobs.submit("notify.preliminary", f"roll-notices:{roll_id}",
                       {"roll_id": roll_id, "claims_until": claims_until, "round": round_,
                        "failed": failed}, actor, key=key, run_after=run_after)


def _resume(args: dict) -> None:
    """The job failed (its worker was killed and it was reaped, or it raised): a new one
    sends the notices still queued, a while later; after NOTIFY_MAX_ATTEMPTS failed runs
    of the roll, none (the notices stay queued; the failures are in the log and job table)."""
    from datetime import timedelta

    from flask import current_app

    from backoffice.models import utcnow

    failed = args.get("failed", 0) + 1
    if failed > current_app.config["NOTIFY_MAX_ATTEMPTS"]:
        return  # it keeps failing: a bug, not a killed worker; the log has its trace
    job = submit_preliminary(args["roll_id"], args["claims_until"],
                             round_=args.get("round", 0) + 1, failed=failed,
                             run_after=utcnow() + timedelta(
                                 seconds=current_app.config["NOTIFY_RETRY_SECONDS"]))
    later(job)


@jobs.define("notify.preliminary", on_fail=_resume)
def preliminary(context, roll_id: int, claims_until: str, round: int = 0,  # noqa: A002
                failed: int = 0) -> dict:
    """Write a notice for every entry of the roll that has none yet, a batch per commit
    (a run after a killed one adds the rest), then send the roll's notices still
    queued, NOTIFY_BATCH per claim (services/notifications.py). Notices it leaves queued
    (a limit spent, the gateway down) are sent by a new job when they may go."""
    database.writes()  # SQLite: BEGIN IMMEDIATE, the one writer (docs/sqlite.md)
    written = _write(roll_id, claims_until)
    context.set_total(written)
    outcomes, retry_at = notifications.send_queued(
        [notifications.MemberNotification.event == "preliminary",
         notifications.MemberNotification.ref == f"roll:{roll_id}"], context.progress)
    result = {"written": written, "outcomes": outcomes}
    if retry_at is not None:
        job = submit_preliminary(roll_id, claims_until, round_=round + 1, failed=failed,
                                 run_after=retry_at)
        later(job)
        result["retry_job"] = job.id
    return result


def _write(roll_id: int, claims_until: str) -> int:
    """A queued notice for each entry of the roll without one, BATCH per commit."""
    import json

    from sqlalchemy import and_, exists, insert, select
    from sqlalchemy.exc import IntegrityError

    from backoffice.extensions import db
    from backoffice.models import RollEntry, utcnow
    from backoffice.models.members import MemberNotification

    ref, last, written = f"roll:{roll_id}", 0, 0
    params = json.dumps({"claims_until": claims_until}, ensure_ascii=False)
    while True:
        members = db.session.scalars(select(RollEntry.member_id).where(
            RollEntry.roll_id == roll_id, RollEntry.member_id > last,
            ~exists().where(and_(MemberNotification.member_id == RollEntry.member_id,
                                 MemberNotification.event == "preliminary",
                                 MemberNotification.ref == ref)))
            .order_by(RollEntry.member_id).limit(BATCH)).all()
        if not members:
            return written
        rows = [{"member_id": m, "event": "preliminary", "ref": ref, "state": "queued",
                 "attempts": 0, "params": params, "created_at": utcnow()} for m in members]
        try:
            with db.session.begin_nested():
                db.session.execute(insert(MemberNotification), rows)
            written += len(rows)
        except IntegrityError:  # another run wrote some meanwhile: one at a time
            for member_id in members:
                written += notifications.enqueue(member_id, "preliminary", ref=ref,
                                                 params={"claims_until": claims_until},
                                                 job=False) is not None
        last = members[-1]
        db.session.commit()
