"""SMS notices to members about decisions (docs/notifications.md): approved, rejected,
entered on the preliminary roll.

A notice is a ``member_notification`` row written in the decision's transaction; its
unique (member, event, ref) is the notice's idempotency key, so a retried decision,
a second click or a redelivered job finds the row there and adds nothing. A job
sends it, in a batch (send_batch): the batch's rows are claimed (queued -> sending)
and committed BEFORE the gateway is asked, then their outcomes recorded in one
commit. A worker killed between the two leaves its rows "sending", never sent
again: at most once (a second SMS about the same decision is worse for the member
than a missing one, which staff see and can resend by hand). A send the gateway
refused (it did not go out) is put back to "queued" and retried up to
NOTIFY_MAX_ATTEMPTS times; a notice over a sending limit waits, queued, for a later
job (docs/notifications.md, Sending limits).
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice import audit, database, ratelimits
from backoffice.extensions import db
from backoffice.models import Member, utcnow
from backoffice.models.members import MemberNotification

log = logging.getLogger(__name__)
# The member's status each notice is about: if it no longer holds at send time (an
# approval undone), the notice is skipped.
STATUS_OF = {"approved": "approved", "rejected": "rejected", "preliminary": None}
# Sent even to members who opted out: what the law needs them to hear (docs/notifications.md).
LEGALLY_NEEDED = frozenset({"preliminary"})


def enqueue(member_id: int, event: str, *, ref: str = "", params: dict | None = None,
            job: bool = True):
    """The notice's row and its job, in the caller's transaction (handed to the queue
    after the commit). None if the notice exists already: nothing is added. Without
    ``job``, the row alone (a batch job sends it: jobs/notifications.py)."""
    from backoffice import jobs

    if event not in STATUS_OF:
        raise ValueError(event)
    try:
        with db.session.begin_nested():
            notice_id = db.session.execute(insert(MemberNotification).values(
                member_id=member_id, event=event, ref=ref, state="queued", attempts=0,
                params=json.dumps(params or {}, ensure_ascii=False),
                created_at=utcnow()).returning(MemberNotification.id)).scalar_one()
    except IntegrityError:
        return None
    if not job:
        return notice_id
    job = jobs.submit("notify.send", f"notification:{notice_id}", {"id": notice_id}, None,
                      key=f"notify:{notice_id}")
    db.session.info.setdefault(DISPATCH, []).append(job.id)
    return job


DISPATCH = "notify_jobs"


@event.listens_for(Session, "after_commit")
def _dispatch(session) -> None:
    """Hand the committed notices' jobs to the queue (a lost hand-over is redelivered
    by the workers' maintenance). Inline queues (tests) run them when asked."""
    from backoffice.jobs import queue

    if DISPATCH not in session.info or queue.mode() == "inline":
        return
    for job_id in session.info.pop(DISPATCH):
        queue.deliver(job_id)


@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    session.info.pop(DISPATCH, None)


def dispatch_waiting() -> None:
    """Run the notices' jobs of the last commit now (the inline queue: tests)."""
    from backoffice.jobs import queue

    for job_id in db.session.info.pop(DISPATCH, []):
        queue.deliver(job_id)


def text_for(notice: MemberNotification, member: Member, locale: str) -> str:
    templates = current_app.config["SMS_NOTICE_TEMPLATES"][notice.event]
    values = json.loads(notice.params or "{}")
    from backoffice.services.membership_numbers import format_membership_no

    values.setdefault("number", format_membership_no(member.id))
    values.setdefault("reason", member.status_reason or "")
    if notice.event == "approved" and "link" not in values:
        values["link"] = _card_link(member)
    values.setdefault("link", "")
    values.setdefault("status", _status_link())
    text = templates.get(locale, templates["hi"]).format(**values)
    return re.sub(r" {2,}", " ", text).strip()  # a link left empty leaves no gap


def _status_link() -> str:
    """The member's status page (/status, docs/status.md) at the site's public address;
    "" without one (a worker has no request host, and a path alone is no use in an SMS)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    return f"{base.rstrip('/')}/status" if base else ""


def _card_link(member: Member) -> str:
    """The member's card link (services/cards.py) at the site's public address: a worker
    has no request to take the host from."""
    from urllib.parse import urlsplit, urlunsplit

    from backoffice.services import cards

    link = cards.card_link(member)
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return link
    origin, path = urlsplit(base.rstrip("/")), urlsplit(link)
    return urlunsplit((origin.scheme, origin.netloc, origin.path + path.path, path.query, ""))


@dataclass
class _Claimed:
    """A notice claimed for sending: plain values only, so nothing is read from the
    database while the gateway answers."""

    id: int
    member_id: int
    event: str
    phone: str
    text: str
    attempts: int
    charge: ratelimits.Charge


@dataclass
class Batch:
    """What one batch did: each notice's outcome, the id to continue after, and when
    notices left queued (deferred, or the gateway down) may be tried again."""

    outcomes: dict[int, str] = field(default_factory=dict)
    after: int = 0
    retry_at: datetime | None = None
    paused_until: float | None = None  # the sender's rate is spent until then (epoch s)

    def later(self, when: datetime) -> None:
        self.retry_at = when if self.retry_at is None else min(self.retry_at, when)


def _limits(phone: str) -> list[tuple[str, str, str]]:
    """The sending limits a notice counts against: its number's, and the sender's rate
    for all notices (docs/notifications.md, Sending limits)."""
    config = current_app.config
    return [("notice-phone", phone, config["NOTIFY_PHONE_LIMIT"]),
            ("notice-sender", "all", config["NOTIFY_RATE_LIMIT"])]


def _claim(filters: list, limit: int, after: int) -> tuple[Batch, list[_Claimed]]:
    """One transaction: take up to ``limit`` queued notices (``filters``, ids above
    ``after``) that no other worker holds, skip those that no longer apply, defer those
    over a sending limit (left queued) and claim the rest (queued -> sending). Commits
    before any of them is handed to the gateway: at most once."""
    database.writes()  # SQLite: BEGIN IMMEDIATE, the one writer (docs/sqlite.md)
    query = (select(MemberNotification, Member)
             .join(Member, Member.id == MemberNotification.member_id)
             .where(MemberNotification.state == "queued", MemberNotification.id > after,
                    *filters)
             .order_by(MemberNotification.id).limit(limit))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=MemberNotification)
    rows = db.session.execute(query).all()
    batch, claimed, skipped = Batch(after=after), [], []
    for notice, member in rows:
        if (member.erased_at is not None
                or (member.sms_opt_out and notice.event not in LEGALLY_NEEDED)
                or (STATUS_OF[notice.event] and member.status != STATUS_OF[notice.event])):
            skipped.append(notice)
            batch.after = notice.id
            continue
        charged = ratelimits.charge_or_refusal(_limits(member.mobile))
        if isinstance(charged, ratelimits.Refusal):
            if charged.name == "notice-sender":  # the rest wait for the sender's rate
                batch.paused_until = charged.retry_at
                break
            batch.outcomes[notice.id] = "deferred"
            batch.later(datetime.fromtimestamp(charged.retry_at, UTC)
                        .replace(tzinfo=None))
            audit.record("member.notify_deferred", entity_type="member",
                         entity_id=notice.member_id,
                         details={"event": notice.event, "notice": notice.id,
                                  "limit": "phone"})
            batch.after = notice.id
            continue
        claimed.append(_Claimed(notice.id, notice.member_id, notice.event, member.mobile,
                                text_for(notice, member, "hi"), notice.attempts + 1, charged))
        batch.after = notice.id
    table = MemberNotification.__table__
    if claimed:
        db.session.execute(update(table).where(
            table.c.id.in_([c.id for c in claimed]), table.c.state == "queued")
            .values(state="sending", attempts=table.c.attempts + 1))
    if skipped:
        db.session.execute(update(table).where(
            table.c.id.in_([n.id for n in skipped]), table.c.state == "queued")
            .values(state="skipped", attempts=table.c.attempts + 1))
        for notice in skipped:
            batch.outcomes[notice.id] = "skipped"
            audit.record("member.notify_skipped", entity_type="member",
                         entity_id=notice.member_id,
                         details={"event": notice.event, "notice": notice.id})
    db.session.commit()  # claimed before the gateway is asked: at most once
    return batch, claimed


def _deliver(claimed: list[_Claimed]) -> list[tuple[_Claimed, str, str | None]]:
    """Hand each claimed notice to the gateway, outside any transaction: (notice,
    outcome, the provider's id or the reason it did not go)."""
    from backoffice import sms
    from backoffice.sms import health as sms_health
    from backoffice.sms.base import GatewayError

    gateway, results = sms.gateway(), []
    for notice in claimed:
        try:
            if gateway.manages_codes:
                raise GatewayError("misconfigured", "notices need a messaging gateway")
            sent = gateway.send_code(notice.phone, None, notice.text, "hi")
        except GatewayError as error:
            sms_health.record(error.reason)
            notice.charge.refund()
            if error.reason == "too_many":  # the provider's own rate: it did not go
                results.append((notice, "deferred", error.reason))
            elif (error.reason == "unavailable"
                  and notice.attempts < current_app.config["NOTIFY_MAX_ATTEMPTS"]):
                results.append((notice, "retry", error.reason))
            else:
                results.append((notice, "failed", error.reason))
            continue
        except Exception:  # noqa: BLE001 - it may have gone: never tried again
            log.exception("notice %s: the gateway call failed", notice.id)
            results.append((notice, "failed", "error"))
            continue
        sms_health.record(None)
        results.append((notice, "sent", sent.provider_sid))
    return results


def _record(batch: Batch, results: list[tuple[_Claimed, str, str | None]]) -> None:
    """The batch's outcomes and their audit events, in one transaction."""
    table = MemberNotification.__table__
    now = utcnow()
    sent = [{"notice": n.id, "provider": value} for n, outcome, value in results
            if outcome == "sent"]
    if sent:
        db.session.execute(update(table).where(
            table.c.id == bindparam("notice"), table.c.state == "sending")
            .values(state="sent", sent_at=now, provider_id=bindparam("provider")), sent)
    for outcome, state, tries in (("retry", "queued", 0), ("failed", "failed", 0),
                                  ("deferred", "queued", 1)):
        ids = [n.id for n, done, _ in results if done == outcome]
        if ids:  # a deferred send was not a try: its attempt is given back
            db.session.execute(update(table).where(
                table.c.id.in_(ids), table.c.state == "sending")
                .values(state=state, attempts=table.c.attempts - tries))
    retry_seconds = current_app.config["NOTIFY_RETRY_SECONDS"]
    for notice, outcome, value in results:
        batch.outcomes[notice.id] = outcome
        details = {"event": notice.event, "notice": notice.id}
        if outcome == "sent":
            action = "member.notified"
        elif outcome == "deferred":
            action = "member.notify_deferred"
            details["limit"] = "provider"
            batch.later(now + timedelta(seconds=retry_seconds))
        else:
            action = "member.notify_failed"
            details |= {"reason": value, "retry": outcome == "retry"}
            if outcome == "retry":
                batch.later(now + timedelta(seconds=retry_seconds * 2 ** (notice.attempts - 1)))
        audit.record(action, entity_type="member", entity_id=notice.member_id, details=details)
    db.session.commit()


def send_batch(filters: list, limit: int, after: int = 0) -> Batch:
    """Claim up to ``limit`` queued notices, send them, record them: two commits for the
    whole batch. A worker killed between the two leaves its claimed notices "sending",
    never sent again; the notices it had not claimed are still queued."""
    batch, claimed = _claim(filters, limit, after)
    if claimed:
        _record(batch, _deliver(claimed))
    return batch


def send(notice_id: int) -> str:
    """Send one notice, at most once; says what happened: sent, skipped, retry (the
    gateway was down), deferred (over a sending limit), failed, or taken (another
    delivery has it, or it is done). Commits."""
    batch = send_batch([MemberNotification.id == notice_id], 1)
    if batch.paused_until is not None:
        return "deferred"
    return batch.outcomes.get(notice_id, "taken")


def retry_time(batch: Batch) -> datetime:
    """When a notice this batch left queued may be tried again."""
    if batch.paused_until is not None:
        return datetime.fromtimestamp(batch.paused_until, UTC).replace(tzinfo=None)
    return batch.retry_at or utcnow() + timedelta(
        seconds=current_app.config["NOTIFY_RETRY_SECONDS"])


def send_queued(filters: list, progress=None) -> tuple[dict[str, int], datetime | None]:
    """Send every queued notice matching ``filters``, NOTIFY_BATCH at a time; while the
    sender's rate is spent, wait for it (up to NOTIFY_WAIT_SECONDS at a time, else stop).
    The outcomes counted, and when the notices left queued may be tried again (None if
    none was left)."""
    counts: dict[str, int] = {}
    after, later, done = 0, None, 0
    size = current_app.config["NOTIFY_BATCH"]
    while True:
        batch = send_batch(filters, size, after)
        for outcome in batch.outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        done += len(batch.outcomes)
        if progress is not None:
            progress(done)
        if batch.retry_at is not None:
            later = batch.retry_at if later is None else min(later, batch.retry_at)
        if batch.paused_until is not None:
            wait = batch.paused_until - time.time()
            if wait > current_app.config["NOTIFY_WAIT_SECONDS"]:
                pause = retry_time(batch)
                return counts, pause if later is None else min(later, pause)
            time.sleep(max(0.0, wait))
        elif batch.after == after:  # nothing more to take
            return counts, later
        after = batch.after


def states(member_id: int) -> dict[str, str]:
    return dict(db.session.execute(select(MemberNotification.event, MemberNotification.state)
                                   .where(MemberNotification.member_id == member_id)).all())
