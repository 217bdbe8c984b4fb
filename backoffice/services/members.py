"""Recording and correcting members: every rule a digital signup must pass, in one place.

Forms, the public join page and paper imports call these; each raises
ValidationError naming the field, in the user's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from backoffice import audit
from backoffice.auth.roles import MEMBER_APPROVE, MEMBER_CREATE, MEMBER_EDIT, MEMBER_REVOKE
from backoffice.auth.scoping import member_in_scope, unit_in_scope
from backoffice.extensions import db
from backoffice.models import GENDERS, RELATIONS, Member, Unit, utcnow
from backoffice.services import search
from backoffice.services.errors import NotFound, Refusals, ValidationError
from backoffice.services.units import ancestors
from backoffice.services.validation import (
    check_age,
    clean_name,
    clean_text,
    normalise_epic,
    normalise_mobile,
)

EDITABLE = ("full_name", "relative_name", "relation", "gender", "date_of_birth", "mobile",
            "epic", "address", "booth_no", "block_id", "zone_id", "fee_receipt_no")


@dataclass
class MemberInput:
    """What a person types about a member, before cleaning."""

    full_name: str
    relative_name: str
    relation: str
    gender: str
    date_of_birth: date | None
    mobile: str
    epic: str | None
    address: str
    booth_no: str | None
    block_id: int | None
    zone_id: int | None = None
    fee_receipt_no: str | None = None


def clean(data: MemberInput, *, today: date | None = None) -> dict:
    """The cleaned column values, or ValidationError for the first bad field: a
    ValidationErrors whose ``errors`` name every bad field when there are several."""
    found = Refusals()
    values = _clean(data, found, today)
    found.raise_any()
    return values


def _choice(value, allowed, message, field):
    if value not in allowed:
        raise ValidationError(message, field=field)
    return value


def _booth(raw: str | None) -> str | None:
    booth = (raw or "").strip().upper() or None
    if booth and (len(booth) > 12 or not booth.replace(" ", "").isalnum()):
        raise ValidationError(_l("A booth number has at most 12 letters and digits."),
                              field="booth_no")
    return booth


def _clean(data: MemberInput, found: Refusals, today: date | None) -> dict:
    """Every field checked, each refusal noted in ``found`` (its value left None)."""
    check = found.check
    return {
        "full_name": check(clean_name, data.full_name, field="full_name"),
        "relation": check(_choice, data.relation, RELATIONS, _l("Choose father or husband."),
                          "relation"),
        "relative_name": check(clean_name, data.relative_name, field="relative_name"),
        "gender": check(_choice, data.gender, GENDERS, _l("Choose a gender."), "gender"),
        "date_of_birth": check(check_age, data.date_of_birth, today=today or date.today()),
        "mobile": check(normalise_mobile, data.mobile),
        "epic": check(normalise_epic, data.epic),
        "address": check(clean_text, data.address, max_length=500, field="address"),
        "booth_no": check(_booth, data.booth_no),
        "fee_receipt_no": check(clean_text, data.fee_receipt_no, max_length=40,
                                field="fee_receipt_no") or None,
    }


def place(actor, permission: str | None, block_id: int | None, zone_id: int | None) -> dict:
    """The unit columns for a block (and zone) the actor may use, or ValidationError.

    ``permission`` None is the public join page: any block of the state.
    """
    if block_id and zone_id:  # both in one query (session.get then finds them loaded)
        db.session.scalars(select(Unit).where(Unit.id.in_([block_id, zone_id]))).all()
    block = db.session.get(Unit, block_id) if block_id else None
    if block is None or block.level != "block":
        raise ValidationError(_l("Choose a block from your units."), field="block_id")
    zone = db.session.get(Unit, zone_id) if zone_id else None
    if zone_id and (zone is None or zone.parent_id != block.id):
        raise ValidationError(_l("Choose a zone of the chosen block."), field="zone_id")
    if permission is not None and not unit_in_scope(actor, permission, zone or block):
        field = "zone_id" if zone else "block_id"  # a zone enroller needs the zone
        raise ValidationError(_l("Choose a block from your units."), field=field)
    up = ancestors(block)
    values = {"division_id": up["division"], "district_id": up["district"],
              "block_id": block.id, "zone_id": zone.id if zone else None}
    if permission is not None and not member_in_scope(actor, permission, Member(**values)):
        raise ValidationError(_l("Choose a block from your units."), field="block_id")
    return values


def _checked(actor, permission, data: MemberInput, consent: bool = True) -> dict:
    """Every field's rules at once, so a form marks all its mistakes in one round trip.
    Uniqueness is checked after (_check_unique): only for a signup valid otherwise, so
    the join page's answer to a registered voter ID stays the same as to a new one."""
    found = Refusals()
    values = _clean(data, found, None)
    values |= found.check(place, actor, permission, data.block_id, data.zone_id) or {}
    if not consent:
        found.errors.append(ValidationError(_l("The member must agree to the privacy "
                                               "notice."), field="consent"))
    found.raise_any()
    return values


def check(actor, data: MemberInput, *, permission: str, consent: bool = True) -> None:
    """A form's input against every rule but uniqueness, for a form that failed its own
    checks: ValidationError(s) naming each bad field, or nothing."""
    _checked(actor, permission, data, consent=consent)


def _check_unique(values: dict, member_id: int | None = None) -> None:
    others = select(func.count()).select_from(Member)
    if member_id is not None:
        others = others.where(Member.id != member_id)
    if values["epic"] and db.session.scalar(others.where(Member.epic == values["epic"])):
        # Says nothing about who holds it or where: the district office can look.
        raise ValidationError(_l("This voter ID (EPIC) is already registered. "
                                 "Ask the district office if it is wrong."), field="epic",
                              code="epic_taken")
    cap = current_app.config["MAX_MEMBERS_PER_PHONE"]
    if db.session.scalar(others.where(Member.mobile == values["mobile"])) >= cap:
        raise ValidationError(_l("This mobile number already has %(n)s members, the most "
                                 "allowed for one phone.", n=cap), field="mobile",
                              code="phone_full")


def record(actor, data: MemberInput, *, channel: str, notice_version: str | None) -> Member:
    """A new member, status "recorded", waiting for the phone check.

    ``actor`` None is a member enrolling themselves on the public join page.
    """
    permission = MEMBER_CREATE if actor is not None else None
    values = _checked(actor, permission, data, consent=bool(notice_version))
    _check_unique(values)
    now = utcnow()
    member = Member(**values, channel=channel, status="recorded",
                    recorded_by_id=actor.id if actor is not None else None,
                    consent_notice_version=notice_version, consent_at=now)
    db.session.add(member)
    db.session.flush()
    search.flag_duplicates(member, actor)  # flagged for the district office, not refused
    return member


def update(actor, member_id: int, data: MemberInput) -> Member:
    """Correct a member. A new phone number clears the phone check."""
    member = db.session.get(Member, member_id)
    if member is None or not member_in_scope(actor, MEMBER_EDIT, member):
        raise NotFound(_l("No such member in your units."))
    if member.status in ("rejected", "revoked"):
        raise ValidationError(_l("A rejected or revoked member cannot be changed."))
    if member.status == "approved" and not (member_in_scope(actor, MEMBER_APPROVE, member)
                                           or member_in_scope(actor, MEMBER_REVOKE, member)):
        raise ValidationError(_l("An approved member can be corrected only by the block "
                                 "president or the district office."))
    values = _checked(actor, MEMBER_EDIT, data)
    _check_unique(values, member.id)
    if values["mobile"] != member.mobile:
        member.verified_at = None
        member.verified_by_id = None
        if member.status == "phone_verified":
            member.status = "recorded"
    for name, value in values.items():
        setattr(member, name, value)
    db.session.flush()
    return member


def log_refused_epic(raw_epic: str | None, block_id: int | None, actor=None) -> None:
    """Someone tried to enter a voter ID already registered: the district head's audit
    report shows it (the EPIC itself only as an HMAC). Call after the rollback."""
    try:
        epic = normalise_epic(raw_epic)
    except ValidationError:
        return
    # The member who holds it, by id: the audit report links to them (if in scope).
    holder = db.session.scalar(select(Member.id).where(Member.epic == epic)) if epic else None
    audit.record("member.epic_taken", unit_id=block_id, actor=actor,
                 details={"epic": audit.pii("epic", epic), "member": holder})
