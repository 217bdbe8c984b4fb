"""A member's life as an explicit state machine.

recorded -> phone_verified -> approved | rejected -> (approved) revoked.
A decision (approve, reject, revoke) may be undone by the person who took it, for
UNDO_SECONDS, while nothing else has happened to the member and no frozen roll
holds them: the member goes back to the state the decision left (undo()).
Each transition is one conditional UPDATE that names the states it may start
from and the actor's scope, so two people deciding the same member at once
get exactly one result: the second UPDATE finds the row already moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, or_, select, update

from backoffice import audit
from backoffice.auth.roles import MEMBER_APPROVE, MEMBER_REVOKE, MEMBER_VERIFY, MEMBER_VIEW
from backoffice.auth.scoping import member_filter
from backoffice.extensions import db
from backoffice.models import Member, RollEntry, utcnow
from backoffice.services.errors import ServiceError, ValidationError

MAX_REASON = 500
MAX_BATCH = 500


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    permission: str
    reason_required: bool
    stamp: str  # the <stamp>_at / <stamp>_by_id columns it fills


TRANSITIONS = {
    "verify_phone": Transition(frozenset({"recorded"}), "phone_verified", MEMBER_VERIFY, False,
                               "verified"),
    "approve": Transition(frozenset({"phone_verified"}), "approved", MEMBER_APPROVE, False,
                          "approved"),
    "reject": Transition(frozenset({"recorded", "phone_verified"}), "rejected", MEMBER_APPROVE,
                         True, "rejected"),
    "revoke": Transition(frozenset({"approved"}), "revoked", MEMBER_REVOKE, True, "revoked"),
}

# Why a member could not take a step, by the state it is in.
_REFUSALS = {
    "recorded": _l("The member's phone is not verified yet."),
    "phone_verified": _l("The member is still waiting for approval."),
    "approved": _l("The member is already approved."),
    "rejected": _l("The member was rejected."),
    "revoked": _l("The membership was revoked."),
}


@dataclass
class Outcome:
    done: list[int] = field(default_factory=list)
    refused: dict[int, object] = field(default_factory=dict)  # id -> message
    at: datetime | None = None  # when apply() moved them: one bulk decision, one time


def _from_states(action: str, transition: Transition):
    """The states a member may take this step from. With PAPER_APPROVAL = "paper_evidence",
    a block president may approve a paper-form member on the form itself, before any SMS."""
    allowed = Member.status.in_(transition.sources)
    if action == "approve" and current_app.config["PAPER_APPROVAL"] == "paper_evidence":
        return or_(allowed, and_(Member.channel == "paper", Member.status == "recorded"))
    return allowed


def clean_reason(reason: str | None, required: bool) -> str | None:
    text = " ".join((reason or "").split())
    if required and not text:
        raise ValidationError(_l("Give a reason: it is shown to the member and audited."),
                              field="reason")
    if len(text) > MAX_REASON:
        raise ValidationError(_l("At most %(n)s characters are allowed.", n=MAX_REASON),
                              field="reason")
    return text or None


NOTIFIED = {"approve": "approved", "reject": "rejected"}


def apply(actor, action: str, member_ids: Iterable[int], reason: str | None = None) -> Outcome:
    """Move the members to the action's state where allowed; say why not for the rest.

    Ids outside the actor's scope are reported as not found, exactly like ids
    that do not exist.
    """
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ServiceError(_l("Unknown action."))
    ids = sorted({int(i) for i in member_ids})
    if not ids:
        raise ServiceError(_l("Select at least one member."))
    if len(ids) > MAX_BATCH:
        raise ServiceError(_l("Select at most %(n)s members at a time.", n=MAX_BATCH))
    reason = clean_reason(reason, transition.reason_required)
    scope = member_filter(actor, transition.permission)
    before = dict(db.session.execute(select(Member.id, Member.status).where(
        Member.id.in_(ids), _from_states(action, transition), scope)).all())
    now = utcnow()
    values = {"status": transition.target, f"{transition.stamp}_at": now,
              f"{transition.stamp}_by_id": actor.id, "updated_at": now}
    if reason is not None:
        values["status_reason"] = reason
    moved = db.session.execute(
        update(Member)
        .where(Member.id.in_(ids), _from_states(action, transition), scope)
        .values(**values)
        .returning(Member.id, Member.block_id),
        execution_options={"synchronize_session": False, "audited": True},
    ).all()
    for member_id, block_id in moved:
        audit.record(f"member.{action}", entity_type="member", entity_id=member_id,
                     unit_id=block_id, actor=actor, reason=reason,
                     changes={"status": [before.get(member_id), transition.target]})
    moved = [member_id for member_id, _block in moved]
    if action in NOTIFIED:  # the SMS notice, with the decision (docs/notifications.md)
        from backoffice.services import notifications

        for member_id in moved:
            notifications.enqueue(member_id, NOTIFIED[action])
    outcome = Outcome(done=sorted(moved), at=now)
    left = [i for i in ids if i not in set(moved)]
    if left:
        states = dict(db.session.execute(
            select(Member.id, Member.status).where(Member.id.in_(left), scope)).all())
        for member_id in left:
            status = states.get(member_id)
            outcome.refused[member_id] = (
                _REFUSALS[status] if status else _l("No such member in your units."))
    db.session.expire_all()
    return outcome


# Undo: the decisions that may be undone, and the state each goes back to.
UNDOABLE = ("approve", "reject", "revoke")


def _previous_state(action: str):
    """The state a decision started from, read from the row: an approval or rejection
    from phone_verified if the phone was checked, else recorded (a paper form approved
    on its evidence, or a rejection before the check); a revocation from approved."""
    if action == "revoke":
        return "approved"
    return case((Member.verified_at.is_not(None), "phone_verified"), else_="recorded")


def _undoable(actor, action: str, since: datetime):
    """Rows whose last change is this actor's ``action`` taken since ``since``: the row
    is still in the state it left, stamped by them, and no later write touched it
    (every write stamps updated_at; a decision stamps it with its own time)."""
    transition = TRANSITIONS[action]
    stamp_at = getattr(Member, f"{transition.stamp}_at")
    return and_(Member.status == transition.target,
                getattr(Member, f"{transition.stamp}_by_id") == actor.id,
                stamp_at >= since, Member.updated_at == stamp_at,
                ~exists().where(RollEntry.member_id == Member.id),
                member_filter(actor, transition.permission))


def undo_window(now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(seconds=current_app.config["UNDO_SECONDS"])


def decided_together(actor, action: str, at: datetime) -> list[int]:
    """The members one decision of this actor moved together (one bulk step shares its
    time) that may still be undone: what "undo" after a bulk decision takes back."""
    if action not in UNDOABLE:
        return []
    stamp_at = getattr(Member, f"{TRANSITIONS[action].stamp}_at")
    return list(db.session.scalars(select(Member.id).where(
        stamp_at == at, _undoable(actor, action, undo_window())).limit(MAX_BATCH)))


def undoable_decision(actor, member: Member) -> str | None:
    """The action of this member's last decision if the actor may undo it now."""
    for action in UNDOABLE:
        if member.status == TRANSITIONS[action].target and db.session.scalar(
                select(Member.id).where(Member.id == member.id,
                                        _undoable(actor, action, undo_window()))):
            return action
    return None


def undo(actor, member_ids: Iterable[int]) -> Outcome:
    """Take back the actor's own recent decisions on these members (see _undoable); each
    is audited as member.decision_undone, naming the decision and the state restored.
    Like apply(), one conditional UPDATE per kind of decision: a member someone else
    touched meanwhile is refused, not overwritten."""
    ids = sorted({int(i) for i in member_ids})
    if not ids:
        raise ServiceError(_l("Select at least one member."))
    if len(ids) > MAX_BATCH:
        raise ServiceError(_l("Select at most %(n)s members at a time.", n=MAX_BATCH))
    now = utcnow()
    since = undo_window(now)
    outcome = Outcome()
    for action in UNDOABLE:
        transition = TRANSITIONS[action]
        values = {"status": _previous_state(action), f"{transition.stamp}_at": None,
                  f"{transition.stamp}_by_id": None, "updated_at": now}
        if transition.reason_required:
            values["status_reason"] = None
        moved = db.session.execute(
            update(Member).where(Member.id.in_(ids), _undoable(actor, action, since))
            .values(**values).returning(Member.id, Member.block_id, Member.status),
            execution_options={"synchronize_session": False, "audited": True}).all()
        for member_id, block_id, restored in moved:
            audit.record("member.decision_undone", entity_type="member", entity_id=member_id,
                         unit_id=block_id, actor=actor, details={"undid": action},
                         changes={"status": [transition.target, restored]})
            outcome.done.append(member_id)
    outcome.done.sort()
    left = [i for i in ids if i not in set(outcome.done)]
    if left:
        visible = set(db.session.scalars(select(Member.id).where(
            Member.id.in_(left), member_filter(actor, MEMBER_VIEW))))
        on_roll = set(db.session.scalars(select(RollEntry.member_id).where(
            RollEntry.member_id.in_(left))))
        for member_id in left:
            outcome.refused[member_id] = (
                _l("No such member in your units.") if member_id not in visible
                else _l("The member is on a frozen roll: the decision stands.")
                if member_id in on_roll
                else _l("Only your own decision of the last %(n)s seconds can be undone, and "
                        "only while nothing else has happened to the member.",
                        n=current_app.config["UNDO_SECONDS"]))
    db.session.expire_all()
    return outcome
