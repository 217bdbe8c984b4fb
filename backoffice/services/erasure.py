"""Erasing a member's personal data at their request (DPDP Act 2023, s.8(7)).

The privacy notice at /privacy promises it. A district head (or the state)
erases inside their units; the member row stays, emptied, so that counts,
membership numbers and the audit trail still add up:

- name, relative's name, mobile, voter ID, address and photo are cleared and
  the date of birth replaced by ERASED_BIRTH_DATE; gender, relation, booth,
  units, channel, fee receipt and consent stay (statistics and accounts, not
  a person's identity on their own);
- a member not yet decided is rejected, an approved one revoked, with the
  reason given (the roll, the tallies and the dashboard follow);
- the phone numbers kept with the member's OTP checks are cleared; the
  per-number failure counters (phone_record) stay: they guard OTP checks
  against abuse and hold no link to any member;
- entries on rolls not yet final are struck and emptied; a final roll cannot
  change (the election's record; its triggers refuse), which the caller is told;
- the audit log holds only keyed HMACs of personal values, so it keeps its
  chain and tells no one the erased values.

The photo leaves shared storage in the same transaction (discard_photo): gone
for every app host when the erasure commits, kept if it rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from backoffice import audit
from backoffice.auth.roles import MEMBER_REVOKE
from backoffice.auth.scoping import member_filter
from backoffice.extensions import db
from backoffice.models import Member, PhoneVerification, Roll, RollEntry, utcnow
from backoffice.services import photos
from backoffice.services.errors import NotFound, ServiceError
from backoffice.services.workflow import clean_reason

ERASED_BIRTH_DATE = date(1900, 1, 1)  # the column is required; no one is that old


@dataclass
class Erased:
    member: Member
    photo: str | None  # the photo it had (removed from storage with the erasure)
    final_rolls: list[str]  # titles of final rolls that keep the member's entry


def member_to_erase(actor, member_id: int, *, lock: bool = False) -> Member | None:
    """The member if the actor may erase them (member.revoke in their units), else None."""
    query = select(Member).where(Member.id == member_id, member_filter(actor, MEMBER_REVOKE))
    return db.session.scalars(query.with_for_update() if lock else query).one_or_none()


def erase(actor, member_id: int, reason: str | None) -> Erased:
    reason = clean_reason(reason, required=True)
    member = member_to_erase(actor, member_id, lock=True)
    if member is None:
        raise NotFound(_l("No such member in your units."))
    if member.erased_at is not None:
        raise ServiceError(_l("This member's personal data was already erased."))
    now = utcnow()
    previous = member.status
    if member.status == "approved":
        member.status, member.revoked_at, member.revoked_by_id = "revoked", now, actor.id
    elif member.status in ("recorded", "phone_verified"):
        member.status, member.rejected_at, member.rejected_by_id = "rejected", now, actor.id
    if member.status != previous:
        member.status_reason = reason
    photo = member.photo_path
    member.full_name = member.relative_name = member.mobile = member.address = ""
    member.epic = member.photo_path = member.photo_sha256 = member.photo_phash = None
    member.date_of_birth = ERASED_BIRTH_DATE
    member.erased_at = now

    db.session.execute(update(PhoneVerification)
                       .where(PhoneVerification.member_id == member.id)
                       .values(phone="", code_hash=None),
                       execution_options={"synchronize_session": False})
    final_rolls = []
    for entry, roll in db.session.execute(
            select(RollEntry, Roll).join(Roll, Roll.id == RollEntry.roll_id)
            .where(RollEntry.member_id == member.id)).all():
        if roll.status == "final":
            final_rolls.append(roll.title)
            continue
        if not entry.removed:
            entry.removed, entry.removed_reason = True, reason
            roll.entry_count -= 1
        entry.full_name = entry.relative_name = ""
    discard_photo(photo)
    audit.record("member.erase", entity_type="member", entity_id=member.id,
                 unit_id=member.block_id, actor=actor, reason=reason,
                 changes={"status": [previous, member.status]},
                 details={"final_rolls_keeping_entry": len(final_rolls)})
    db.session.flush()
    return Erased(member, photo, final_rolls)


def discard_photo(relative: str | None) -> None:
    """Remove a photo from storage, in the caller's transaction, unless another member's
    record uses it (photos are stored once per content)."""
    if relative is None:
        return
    if db.session.scalar(select(Member.id).where(Member.photo_path == relative).limit(1)):
        return
    photos.discard(relative)
