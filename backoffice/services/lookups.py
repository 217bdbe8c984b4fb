"""A member looks up their own membership at /status (docs/status.md).

The member types their membership number or voter ID; a code goes by SMS to the
phone registered for it, and once that code is typed back the member sees their
status, their place on the rolls, how to claim, and may turn SMS notices off or on.

Until the code is checked nothing tells whether the number or voter ID is
registered: a lookup is a public code session like a /join signup (a JoinSignup
row of purpose "status", services/signups.py), and one for an unknown or erased
member is a stand-in that counts, waits and answers through the same functions
(verification.send_on_row / check_on_row) and sends nothing. Its limits are
counted per number or voter ID typed (and per client address), never per member
or phone, which only a registered one has. The registered phone's own cap on
sends, and a number the SMS provider refuses, are not told: the answer is the one
a stand-in gives.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from backoffice import audit, keys, ratelimits, sms
from backoffice.extensions import db
from backoffice.models import JoinSignup, Member, Roll, RollEntry, Unit, utcnow
from backoffice.services import signups, verification
from backoffice.services.errors import ValidationError
from backoffice.services.membership_numbers import format_membership_no, parse_typed_membership_no
from backoffice.services.validation import normalise_epic
from backoffice.sms import health as sms_health

log = logging.getLogger(__name__)
PURPOSE = "status"
# Number failures that would tell a registered number from a stand-in: not told.
_QUIET_FAILURES = frozenset({"invalid_number", "not_mobile", "blocked"})


def _config(name):
    return current_app.config[name]


def identify(typed: str) -> tuple[str, int | None]:
    """A keyed hash of what was typed (its limits' key) and the member it names, None
    for nobody or an erased member. ValidationError when it is neither a membership
    number nor a voter ID: that is told, as it depends on nothing registered."""
    member_id = parse_typed_membership_no(typed)
    if member_id is not None:
        canonical, where = f"number:{member_id}", Member.id == member_id
    else:
        try:
            epic = normalise_epic(typed, field="number", required=True)
        except ValidationError:
            raise ValidationError(
                _l("Type your membership number (like CG000123454) or your voter ID (like "
                   "ABC1234567)."), field="number") from None
        canonical, where = f"epic:{epic}", Member.epic == epic
    found = db.session.scalar(select(Member.id).where(where, Member.erased_at.is_(None)))
    return keys.keyed_hash("status-lookups", canonical), found


def start(typed: str) -> tuple[JoinSignup, str]:
    key, member_id = identify(typed)
    return signups.open_row(PURPOSE, member_id, lookup_key=key)


def find(handle) -> JoinSignup | None:
    return signups.find(handle, PURPOSE)


def _member(row: JoinSignup) -> Member | None:
    if row.member_id is None:
        return None
    member = db.session.get(Member, row.member_id)
    return member if member is not None and member.erased_at is None else None


def _code_hash(row_id: int, member_id: int, phone: str, code: str) -> str:
    return keys.keyed_hash("status-codes", f"{row_id}|{member_id}|{phone}|{code}")


def send(row: JoinSignup, *, ip: str, locale: str, settle=None) -> verification.Result:
    """Send the lookup's code (a stand-in plays it out). The caller commits."""
    limits = [("status-lookup", row.lookup_key or "", _config("STATUS_LOOKUP_LIMIT"))]
    if ip:
        limits.append(("otp-ip", ip, _config("OTP_IP_LIMIT")))
    member = _member(row)
    deliver = None if member is None else partial(
        _deliver, member_id=member.id, phone=member.mobile, unit_id=member.block_id,
        locale=locale)
    return verification.send_on_row(row, waits_for=None, limits=limits, settle=settle,
                                    deliver=deliver)


def _deliver(row: JoinSignup, *, member_id: int, phone: str, unit_id: int,
             locale: str) -> None:
    """The SMS of a registered member's lookup. Raises GatewayError only for a gateway
    failing as a whole (stand-ins answer the same failure meanwhile); the phone's own
    cap and a number the provider refuses are answered as a send."""
    gateway = sms.gateway()
    details = {"purpose": PURPOSE, "lookup": row.id, "gateway": gateway.name}
    if not ratelimits.hit("status-phone", phone, _config("OTP_PHONE_LIMIT")):
        audit.record("otp.send_failed", entity_type="member", entity_id=member_id,
                     unit_id=unit_id, actor=audit.MEMBER_SELF,
                     details=details | {"reason": "too_many"})
        return
    code = text = None
    if not gateway.manages_codes:
        code = f"{secrets.randbelow(10 ** verification.CODE_DIGITS):0{verification.CODE_DIGITS}d}"
        template = _config("SMS_TEMPLATE")
        text = template.get(locale, template["en"]).format(code=code)
    try:
        sent = gateway.send_code(phone, code, text, locale)
    except sms.GatewayError as error:
        log.warning("status lookup SMS failed: reason=%s lookup=%s", error.reason, row.id,
                    extra={"sms_outcome": "failed", "sms_reason": error.reason})
        sms_health.record(error.reason)
        audit.record("otp.send_failed", entity_type="member", entity_id=member_id,
                     unit_id=unit_id, actor=audit.MEMBER_SELF,
                     details=details | {"reason": error.reason,
                                        "provider_code": str(error.code)})
        if error.reason in _QUIET_FAILURES:
            return
        raise
    sms_health.record(None)
    values = {"code_hash": _code_hash(row.id, member_id, phone, code)} if code else {}
    if values:
        db.session.execute(update(JoinSignup).where(JoinSignup.id == row.id).values(**values))
    audit.record("otp.send", entity_type="member", entity_id=member_id, unit_id=unit_id,
                 actor=audit.MEMBER_SELF,
                 details=details | {"provider_sid": sent.provider_sid or ""})


def check(row: JoinSignup, code: str, *, settle=None) -> verification.Result:
    """Check a typed code; on success the lookup is open for STATUS_SESSION_SECONDS.
    The caller commits."""
    limits = [("status-check", row.lookup_key or "", _config("STATUS_CHECK_LIMIT"))]
    member = _member(row)
    if member is None:
        return verification.check_on_row(row, code, waits_for=None, limits=limits)
    member_id, phone, unit_id, row_id = member.id, member.mobile, member.block_id, row.id
    code_hash = row.code_hash or ""

    def matches(typed: str) -> bool:
        gateway = sms.gateway()
        if gateway.manages_codes:
            (settle or db.session.flush)()
            return gateway.check_code(phone, typed)
        return hmac.compare_digest(code_hash, _code_hash(row_id, member_id, phone, typed))

    result = verification.check_on_row(row, code, waits_for=None, limits=limits,
                                       matches=matches)
    if result.ok:
        db.session.execute(update(JoinSignup).where(JoinSignup.id == row_id)
                           .values(checked_at=utcnow()))
        db.session.expire(row)
    audit.record("otp.check", entity_type="member", entity_id=member_id, unit_id=unit_id,
                 actor=audit.MEMBER_SELF,
                 details={"purpose": PURPOSE, "lookup": row_id, "right": result.ok})
    return result


def is_open(row: JoinSignup) -> bool:
    """The code was checked, a short while ago, and the member is still there."""
    if row.checked_at is None or _member(row) is None:
        return False
    return utcnow() - row.checked_at < timedelta(seconds=_config("STATUS_SESSION_SECONDS"))


def close(row: JoinSignup) -> None:
    db.session.delete(row)
    db.session.flush()


@dataclass
class RollLine:
    """The member and one published roll of a unit they belong to."""

    title: str
    unit: str
    state: str  # preliminary | final
    booth: str | None
    serial: int | None
    claims_until: date | None
    claims_open: bool


@dataclass
class Status:
    number: str
    name: str
    block: str
    status: str
    reason: str | None
    phone: str
    opted_out: bool
    rolls: list[RollLine] = field(default_factory=list)


def status_of(row: JoinSignup, *, today: date | None = None) -> Status:
    member = _member(row)
    today = today or date.today()
    return Status(number=format_membership_no(member.id), name=member.full_name,
                  block=str(member.block), status=member.status,
                  reason=member.status_reason if member.status in ("rejected", "revoked")
                  else None,
                  phone=signups.mask(member.mobile), opted_out=bool(member.sms_opt_out),
                  rolls=_rolls(member, today))


def _rolls(member: Member, today: date) -> list[RollLine]:
    """The published rolls of the member's units (block, zone, district, division,
    state), and the member's entry on each (None if not on it or struck off)."""
    units = [u for u in (member.block_id, member.zone_id, member.district_id,
                         member.division_id) if u is not None]
    states = select(Unit.id).where(Unit.level == "state")
    rows = db.session.execute(
        select(Roll, Unit, RollEntry.booth_no, RollEntry.serial)
        .join(Unit, Unit.id == Roll.unit_id)
        .outerjoin(RollEntry, (RollEntry.roll_id == Roll.id)
                   & (RollEntry.member_id == member.id) & RollEntry.removed.is_(False))
        .where(Roll.status.in_(("preliminary", "final")),
               or_(Roll.unit_id.in_(units), Roll.unit_id.in_(states)))
        .order_by(Roll.id)).all()
    return [RollLine(title=roll.title, unit=str(unit), state=roll.status, booth=booth,
                     serial=serial, claims_until=roll.claims_until,
                     claims_open=roll.status == "preliminary" and roll.claims_until is not None
                     and today <= roll.claims_until)
            for roll, unit, booth, serial in rows]


def set_opt_out(row: JoinSignup, opted_out: bool) -> bool:
    """The member's own choice of SMS notices (all but the legally needed ones:
    services/notifications.LEGALLY_NEEDED), audited as the member's act. False when it
    was already so. The caller commits."""
    member = _member(row)
    before = bool(member.sms_opt_out)
    if before == opted_out:
        return False
    db.session.execute(
        update(Member).where(Member.id == member.id)
        .values(sms_opt_out=opted_out, updated_at=utcnow()),
        execution_options={"synchronize_session": False, "audited": True})
    audit.record("member.sms_opt_out" if opted_out else "member.sms_opt_in",
                 entity_type="member", entity_id=member.id, unit_id=member.block_id,
                 actor=audit.MEMBER_SELF, changes={"sms_opt_out": [before, opted_out]},
                 details={"by": "member", "via": PURPOSE, "lookup": row.id})
    db.session.expire(member)
    return True
