"""SMS notices to members about decisions (docs/notifications.md): approved, rejected,
entered on the preliminary roll.

A notice is a ``member_notification`` row written in the decision's transaction; its
unique (member, event, ref) is the notice's idempotency key, so a retried decision,
a second click or a redelivered job finds the row there and adds nothing. A job
sends it: it claims the row (queued -> sending) and commits BEFORE asking the
gateway, then records "sent". A worker killed between the two leaves the row in
"sending", which is never sent again: at most once (a second SMS about the same
decision is worse for the member than a missing one, which staff see and can resend
by hand). A send the gateway refused (it did not go out) is put back to "queued"
and retried up to NOTIFY_MAX_ATTEMPTS times.
"""

from __future__ import annotations

import json

from flask import current_app
from sqlalchemy import event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice import audit
from backoffice.extensions import db
from backoffice.models import Member, utcnow
from backoffice.models.members import MemberNotification

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
    return templates.get(locale, templates["hi"]).format(**values).strip()


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


def send(notice_id: int) -> str:
    """Send one notice, at most once; says what happened (sent, skipped, retry, failed,
    or taken: another delivery claimed it). Commits."""
    from backoffice import sms
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
    phone, text = member.mobile, text_for(notice, member, "hi")
    attempts = notice.attempts
    db.session.commit()  # claimed before the gateway is asked: at most once
    gateway = sms.gateway()
    try:
        if gateway.manages_codes:
            raise GatewayError("misconfigured", "notices need a messaging gateway")
        sent = gateway.send_code(phone, None, text, "hi")
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


def states(member_id: int) -> dict[str, str]:
    return dict(db.session.execute(select(MemberNotification.event, MemberNotification.state)
                                   .where(MemberNotification.member_id == member_id)).all())
