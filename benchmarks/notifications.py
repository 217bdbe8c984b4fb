"""Sending a preliminary roll's SMS notices: notices/s of the notify.preliminary job (claimed,
sent and recorded in batches) against the one-by-one path it replaced and a bare gateway
loop, measured in the same run with the in-memory gateway.

    BACKOFFICE_ENV=development .venv/bin/python benchmarks/notifications.py \
        [--notices 20000] [--one-by-one 2000] [--rounds 1] [--reuse] \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/notifybench]

The database (never `test`) is dropped, created and migrated; the demo's hierarchy and
--notices synthetic approved members are seeded, each with a queued preliminary notice
(about five minutes for 20,000 on 2 busy cores; --reuse keeps the last run's).
Then, for each round, with every notice queued again before each mode:

- ``gateway``: the memory gateway's send_code for each notice's phone and text, nothing
  else: the ceiling;
- ``one by one``: the path before batching, run as a job like the app's: each notice
  read, claimed and committed, sent, then recorded with its audit event and committed
  (three transactions per notice). It runs over the first --one-by-one notices only
  (about 12/s here: all 20,000 would take half an hour); its rate is per notice;
- ``batched``: the app's notify.preliminary job (NOTIFY_BATCH notices per claim and per
  record, each notice counted against the sending limits, in memory here), run by the
  job runner as a worker runs it.

The limits are set high enough not to pace the run (the default rate, 20/second, would
make it take 1,000 s whatever the code). Prints notices/s per mode (median of the
rounds) and the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time

from audit_append import fresh_database  # benchmarks/ is on the path when run
from sqlalchemy import insert, select, update

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/notifybench"
SCAFFOLD = {"audited": True}  # benchmark set-up, not the app's writes
ROLL = 1


def old_send(notice_id: int) -> str:
    """services/notifications.send as it was before batching (commit 6320e75)."""
    from flask import current_app

    from backoffice import audit, sms
    from backoffice.extensions import db
    from backoffice.models import Member, utcnow
    from backoffice.models.members import MemberNotification
    from backoffice.services.notifications import LEGALLY_NEEDED, STATUS_OF, text_for
    from backoffice.sms.base import GatewayError

    notice = db.session.get(MemberNotification, notice_id)
    member = db.session.get(Member, notice.member_id) if notice else None
    if notice is None or notice.state != "queued":
        db.session.rollback()
        return "taken"
    skip = (member is None or member.erased_at is not None
            or (member.sms_opt_out and notice.event not in LEGALLY_NEEDED)
            or (STATUS_OF[notice.event] and member.status != STATUS_OF[notice.event]))
    claimed = db.session.execute(update(MemberNotification).where(
        MemberNotification.id == notice_id, MemberNotification.state == "queued").values(
        state="skipped" if skip else "sending", attempts=MemberNotification.attempts + 1))
    if claimed.rowcount != 1:
        db.session.rollback()
        return "taken"
    if skip:
        audit.record("member.notify_skipped", entity_type="member", entity_id=notice.member_id,
                     details={"event": notice.event, "notice": notice_id})
        db.session.commit()
        return "skipped"
    phone, text_ = member.mobile, text_for(notice, member, "hi")
    attempts = notice.attempts
    db.session.commit()
    gateway = sms.gateway()
    try:
        sent = gateway.send_code(phone, None, text_, "hi")
    except GatewayError as error:
        again = (error.reason == "unavailable"
                 and attempts < current_app.config["NOTIFY_MAX_ATTEMPTS"])
        db.session.execute(update(MemberNotification).where(
            MemberNotification.id == notice_id, MemberNotification.state == "sending")
            .values(state="queued" if again else "failed"))
        audit.record("member.notify_failed", entity_type="member", entity_id=notice.member_id,
                     details={"event": notice.event, "notice": notice_id,
                              "reason": error.reason, "retry": again})
        db.session.commit()
        return "retry" if again else "failed"
    db.session.execute(update(MemberNotification).where(
        MemberNotification.id == notice_id).values(
        state="sent", sent_at=utcnow(), provider_id=sent.provider_sid))
    audit.record("member.notified", entity_type="member", entity_id=notice.member_id,
                 details={"event": notice.event, "notice": notice_id})
    db.session.commit()
    return "sent"


def setup(app, notices: int) -> None:
    from flask_migrate import upgrade

    from backoffice.extensions import db
    from backoffice.models import Member, utcnow
    from backoffice.models.members import MemberNotification
    from backoffice.services import demo

    with app.app_context(), app.test_request_context():
        upgrade()
        demo.load_hierarchy()
        db.session.commit()
        demo.seed_members(notices)
        db.session.execute(update(Member).values(status="approved", sms_opt_out=False),
                           execution_options=SCAFFOLD)
        ids = db.session.scalars(select(Member.id).order_by(Member.id)).all()
        rows = [{"member_id": m, "event": "preliminary", "ref": f"roll:{ROLL}",
                 "state": "queued", "attempts": 0, "params": '{"claims_until": "15/12/2026"}',
                 "created_at": utcnow()} for m in ids]
        db.session.execute(insert(MemberNotification), rows)
        db.session.commit()


def requeue() -> None:
    from backoffice.extensions import db
    from backoffice.models.members import MemberNotification

    db.session.execute(update(MemberNotification).values(
        state="queued", attempts=0, sent_at=None, provider_id=None))
    db.session.commit()


def run_job(kind: str, args: dict) -> float:
    from backoffice import jobs
    from backoffice.extensions import db
    from backoffice.jobs import runner

    job_id = jobs.submit(kind, f"bench:{kind}", args, None).id
    db.session.commit()  # and nothing open in this context while the job runs
    started = time.perf_counter()
    assert runner.run(job_id) == "done"
    return time.perf_counter() - started


def measure(app, notices: int, baseline: int) -> dict[str, float]:
    from backoffice import jobs, sms
    from backoffice.extensions import db
    from backoffice.models import Member
    from backoffice.models.members import MemberNotification
    from backoffice.services.notifications import text_for

    rates = {}
    with app.app_context(), app.test_request_context():
        rows = db.session.execute(select(MemberNotification, Member).join(
            Member, Member.id == MemberNotification.member_id)).all()
        messages = [(member.mobile, text_for(notice, member, "hi")) for notice, member in rows]
        db.session.rollback()
        gateway = sms.gateway()
        started = time.perf_counter()
        for phone, body in messages:
            gateway.send_code(phone, None, body, "hi")
        rates["gateway"] = len(messages) / (time.perf_counter() - started)

        if "bench.one_by_one" not in jobs.RUNNERS:
            @jobs.define("bench.one_by_one")
            def one_by_one(context, ids):
                for done, notice_id in enumerate(ids, 1):
                    old_send(notice_id)
                    context.progress(done)
                return {}

        requeue()
        ids = db.session.scalars(select(MemberNotification.id).where(
            MemberNotification.state == "queued").order_by(MemberNotification.id)).all()
        ids = ids[:baseline]
        db.session.commit()
        rates["one by one"] = len(ids) / run_job("bench.one_by_one", {"ids": ids})
        assert _sent() == len(ids)

        requeue()
        rates["batched"] = notices / run_job("notify.preliminary",
                                             {"roll_id": ROLL, "claims_until": "15/12/2026"})
        assert _sent() == notices
    return rates


def _sent() -> int:
    from sqlalchemy import func

    from backoffice.extensions import db
    from backoffice.models.members import MemberNotification

    return db.session.scalar(select(func.count()).select_from(MemberNotification).where(
        MemberNotification.state == "sent"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=20_000)
    parser.add_argument("--one-by-one", type=int, default=2000,
                        help="notices the one-by-one baseline sends (its rate is per notice)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database a previous run with the same --notices made")
    args = parser.parse_args()
    if not args.reuse:
        fresh_database(args.database_url)

    from backoffice import create_app

    app = create_app({
        "ENV": "development", "SQLALCHEMY_DATABASE_URI": args.database_url,
        "SMS_GATEWAY": "memory", "JOBS_QUEUE": "inline",
        "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
        "NOTIFY_PHONE_LIMIT": "1000000/hour", "NOTIFY_RATE_LIMIT": "1000000/second",
        "PUBLIC_BASE_URL": "https://sadasya.example"})
    started = time.perf_counter()
    if not args.reuse:
        setup(app, args.notices)
    print(f"set up {args.notices} members with queued notices in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    rounds: dict[str, list[float]] = {}
    for number in range(args.rounds):
        for mode, rate in measure(app, args.notices, args.one_by_one).items():
            rounds.setdefault(mode, []).append(rate)
            print(f"round {number + 1} {mode:10}: {rate:8.0f} notices/s", flush=True)
    median = {mode: statistics.median(values) for mode, values in rounds.items()}
    print(f"\n{args.notices} preliminary-roll notices (one by one: the first "
          f"{min(args.one_by_one, args.notices)}), memory gateway, "
          f"NOTIFY_BATCH={app.config['NOTIFY_BATCH']}; median of {args.rounds} round(s):")
    for mode, rate in median.items():
        print(f"  {mode:10}: {rate:8.0f} notices/s  ({args.notices / rate:6.1f} s)")
    print(f"  batched / one by one: {median['batched'] / median['one by one']:.1f}x; "
          f"batched / gateway: {median['batched'] / median['gateway']:.3f}")


if __name__ == "__main__":
    main()
