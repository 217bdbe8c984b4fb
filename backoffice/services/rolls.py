"""Rolls: freeze the eligible members of a unit at a cut-off, publish, take claims and
objections, finalise. Every step is audited; a final roll never changes.

Eligible: approved, vouched for (phone verified, or a paper-form member: with
PAPER_APPROVAL = "paper_evidence" the form itself is the evidence their approval
rests on), recorded on or before the cut-off date (IST), in the roll's unit, at
the moment of the freeze. The entries are copies: later edits to members do not
reach them.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, case, cast, func, insert, or_, select, true

from backoffice import audit
from backoffice.auth.roles import ROLL_CLAIM, ROLL_MANAGE
from backoffice.auth.scoping import member_in_scope, unit_in_scope
from backoffice.extensions import db
from backoffice.models import Member, Roll, RollClaim, RollEntry, Unit, utcnow
from backoffice.services import notifications as notification_service
from backoffice.services import roll_check
from backoffice.services.errors import NotFound, ServiceError, ValidationError
from backoffice.services.membership_numbers import format_membership_no
from backoffice.services.units import MEMBER_COLUMNS
from backoffice.services.workflow import clean_reason

log = logging.getLogger(__name__)
IST = timedelta(hours=5, minutes=30)
BATCH = 5000
NO_BOOTH = "—"
_LAST = 10 ** 6  # booths without a number go last
# The dates a roll may carry: a typed 9999-12-31 would overflow the cut-off's arithmetic.
EARLIEST, AHEAD = date(2000, 1, 1), timedelta(days=366)


def cut_off_end(cut_off: date) -> datetime:
    """The first UTC moment after the cut-off date in India (midnight IST, naive UTC)."""
    return datetime.combine(cut_off + timedelta(days=1), time()) - IST


def booth_key(booth_no: str | None) -> int:
    match = re.match(r"\d+", booth_no or "")
    return int(match.group()) if match else _LAST


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def members_under(unit: Unit):
    """Members of the unit's subtree, as one indexed equality."""
    if unit.level == "state":
        return true()
    return getattr(Member, MEMBER_COLUMNS[unit.level]) == unit.id


def eligible(roll: Roll):
    unit = db.session.get(Unit, roll.unit_id)
    return (members_under(unit), Member.status == "approved",
            or_(Member.verified_at.is_not(None), Member.channel == "paper"),
            Member.created_at < cut_off_end(roll.cut_off))


def roll_for(actor, roll_id: int, permission: str = ROLL_MANAGE) -> Roll:
    roll = db.session.get(Roll, roll_id)
    if roll is None or not unit_in_scope(actor, permission, db.session.get(Unit, roll.unit_id)):
        raise NotFound(_l("No such roll in your units."))
    return roll


def _expect(roll: Roll, *states: str) -> None:
    if roll.status not in states:
        raise ServiceError(_l("This roll is %(status)s: that step is not possible now.",
                              status=roll.status))


def create(actor, unit: Unit, cut_off: date, title: str) -> Roll:
    if not unit_in_scope(actor, ROLL_MANAGE, unit):
        raise NotFound(_l("No such unit in your scope."))
    if not EARLIEST <= cut_off <= date.today() + AHEAD:
        raise ValidationError(_l("Choose a cut-off date from 2000 to a year from today."),
                              field="cut_off")
    title = " ".join((title or "").split())
    if not title or len(title) > 150:
        raise ValidationError(_l("Give the roll a title (at most 150 characters)."),
                              field="title")
    roll = Roll(unit_id=unit.id, cut_off=cut_off, title=title, status="draft",
                created_by_id=actor.id)
    db.session.add(roll)
    db.session.flush()
    return roll


def freeze(actor, roll_id: int) -> int:
    """Copy the eligible members into the roll, numbered serially per booth."""
    roll = roll_for(actor, roll_id)
    _expect(roll, "draft")
    result = db.session.execute(
        select(Member.id, Member.booth_no, Member.full_name, Member.relative_name,
               Member.relation, Member.gender, Member.date_of_birth, Member.block_id)
        .where(*eligible(roll))
        .order_by(_booth_order(), func.coalesce(Member.booth_no, NO_BOOTH), Member.id)
        .execution_options(yield_per=BATCH))  # streamed: constant memory at a million
    serials: dict[str, int] = {}
    batch, total = [], 0
    for row in result:
        total += 1
        booth = row.booth_no or NO_BOOTH
        serials[booth] = serials.get(booth, 0) + 1
        batch.append({"roll_id": roll.id, "member_id": row.id,
                      "membership_no": format_membership_no(row.id), "booth_no": booth,
                      "booth_key": booth_key(row.booth_no), "serial": serials[booth],
                      "full_name": row.full_name, "relative_name": row.relative_name,
                      "relation": row.relation, "gender": row.gender,
                      "age": age_on(row.date_of_birth, roll.cut_off), "block_id": row.block_id})
        if len(batch) == BATCH:
            db.session.connection().execute(insert(RollEntry), batch)
            batch = []
    result.close()
    if batch:
        db.session.connection().execute(insert(RollEntry), batch)
    roll.status, roll.frozen_at, roll.entry_count = "frozen", utcnow(), total
    audit.record("roll.freeze", entity_type="roll", entity_id=roll.id, unit_id=roll.unit_id,
                 actor=actor, details={"entries": total, "booths": len(serials),
                                       "cut_off": roll.cut_off.isoformat()})
    return total


def _booth_order():
    """The numeric part of a booth number ("12A" -> 12), in SQL, on both databases."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.coalesce(
            cast(func.substring(Member.booth_no, "^[0-9]+"), Integer), _LAST)
    return case((Member.booth_no.op("GLOB")("[0-9]*"), cast(Member.booth_no, Integer)),
                else_=_LAST)


def publish(actor, roll_id: int, claims_until: date, *, today: date | None = None) -> None:
    roll = roll_for(actor, roll_id)
    _expect(roll, "frozen")
    if claims_until < (today or date.today()):
        raise ValidationError(_l("The last day for claims cannot be in the past."),
                              field="claims_until")
    if claims_until > (today or date.today()) + AHEAD:
        raise ValidationError(_l("The last day for claims must be within a year from today."),
                              field="claims_until")
    roll.status, roll.published_at, roll.claims_until = "preliminary", utcnow(), claims_until
    audit.record("roll.publish", entity_type="roll", entity_id=roll.id, unit_id=roll.unit_id,
                 actor=actor, details={"claims_until": claims_until.isoformat(),
                                       "entries": roll.entry_count})
    from backoffice.jobs import notifications as notices  # each entry's SMS notice

    job = notices.submit_preliminary(roll.id, claims_until.strftime("%d/%m/%Y"), actor)
    db.session.info.setdefault(notification_service.DISPATCH, []).append(job.id)


def file_claim(actor, roll_id: int, kind: str, member_id: int, reason: str, *,
               today: date | None = None) -> RollClaim:
    """A claim (a member missing from the roll) or an objection (one who should not be).

    Filed by office holders about members of their own units (a block president
    for the block) against the roll of any unit above them.
    """
    roll = db.session.get(Roll, roll_id)
    if roll is None:
        raise NotFound(_l("No such roll in your units."))
    _expect(roll, "preliminary")
    if (today or date.today()) > roll.claims_until:
        raise ServiceError(_l("The time for claims and objections ended on %(day)s.",
                              day=roll.claims_until.strftime("%d/%m/%Y")))
    if kind not in ("claim", "objection"):
        raise ValidationError(_l("Choose claim or objection."), field="kind")
    reason = clean_reason(reason, required=True)
    member = db.session.get(Member, member_id)
    unit = db.session.get(Unit, roll.unit_id)
    in_unit = member is not None and member_in_scope(actor, ROLL_CLAIM, member) and \
        db.session.scalar(
        select(func.count()).select_from(Member).where(Member.id == member_id,
                                                       members_under(unit)))
    if not in_unit:
        raise NotFound(_l("No such member in this roll's unit."))
    on_roll = _entry(roll.id, member_id) is not None
    if kind == "claim" and on_roll:
        raise ValidationError(_l("This member is already on the roll."), field="member_id")
    if kind == "objection" and not on_roll:
        raise ValidationError(_l("This member is not on the roll."), field="member_id")
    claim = RollClaim(roll_id=roll.id, kind=kind, member_id=member_id, reason=reason,
                      filed_by_id=actor.id)
    db.session.add(claim)
    db.session.flush()
    audit.record(f"roll.{kind}", entity_type="member", entity_id=member_id,
                 unit_id=member.block_id, actor=actor, reason=reason,
                 details={"roll": roll.id, "claim": claim.id})
    return claim


def _entry(roll_id: int, member_id: int) -> RollEntry | None:
    return db.session.scalar(select(RollEntry).where(RollEntry.roll_id == roll_id,
                                                     RollEntry.member_id == member_id))


def decide(actor, claim_id: int, accept: bool, reason: str) -> RollClaim:
    """The returning officer's decision; an accepted claim adds the member at the end of
    their booth, an accepted objection strikes the entry (its serial is not reused)."""
    claim = db.session.get(RollClaim, claim_id)
    if claim is None:
        raise NotFound(_l("No such claim."))
    roll = roll_for(actor, claim.roll_id)
    _expect(roll, "preliminary")
    if claim.status != "pending":
        raise ServiceError(_l("This claim was already decided."))
    reason = clean_reason(reason, required=True)
    if accept and claim.kind == "claim":
        _add_entry(roll, db.session.get(Member, claim.member_id))
    elif accept:
        entry = _entry(roll.id, claim.member_id)
        entry.removed, entry.removed_reason = True, reason
        roll.entry_count -= 1
    claim.status = "accepted" if accept else "rejected"
    claim.decided_by_id, claim.decided_at, claim.decision_reason = actor.id, utcnow(), reason
    audit.record(f"roll.{claim.kind}_{claim.status}", entity_type="member",
                 entity_id=claim.member_id, unit_id=roll.unit_id, actor=actor, reason=reason,
                 details={"roll": roll.id, "claim": claim.id})
    return claim


def _add_entry(roll: Roll, member: Member) -> None:
    booth = member.booth_no or NO_BOOTH
    last = db.session.scalar(select(func.max(RollEntry.serial)).where(
        RollEntry.roll_id == roll.id, RollEntry.booth_no == booth)) or 0
    db.session.add(RollEntry(
        roll_id=roll.id, member_id=member.id, membership_no=format_membership_no(member.id),
        booth_no=booth, booth_key=booth_key(member.booth_no), serial=last + 1,
        full_name=member.full_name, relative_name=member.relative_name,
        relation=member.relation, gender=member.gender,
        age=age_on(member.date_of_birth, roll.cut_off), block_id=member.block_id,
        added_by_claim=True))
    roll.entry_count += 1


def finalise(actor, roll_id: int, *, today: date | None = None) -> None:
    roll = roll_for(actor, roll_id)
    _expect(roll, "preliminary")
    if (today or date.today()) <= roll.claims_until:
        raise ServiceError(_l("Claims and objections are open until %(day)s: finalise after "
                              "that.", day=roll.claims_until.strftime("%d/%m/%Y")))
    pending = db.session.scalar(select(func.count()).select_from(RollClaim).where(
        RollClaim.roll_id == roll.id, RollClaim.status == "pending"))
    if pending:
        raise ServiceError(_l("Decide every claim and objection first (%(n)s pending).",
                              n=pending))
    roll.status, roll.finalised_at = "final", utcnow()
    audit.record("roll.finalise", entity_type="roll", entity_id=roll.id, unit_id=roll.unit_id,
                 actor=actor, details={"entries": roll.entry_count})
    db.session.flush()
    try:  # the checker's file of the roll, stored with the finalisation (docs/cards.md)
        roll_check.store_roll_file(roll)
    except RuntimeError:  # no card key yet (production): its first request makes it
        log.warning("no card key: the checker's file of roll %s is made on request", roll.id)
