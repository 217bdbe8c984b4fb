"""SMS one-time codes that verify a member's phone (docs/sms-otp.md).

A code is bound to one member and one phone, lives 10 minutes, allows 5
checks, and is stored only as an HMAC. Sends are throttled per phone, per
client address and per enroller; wrong codes per phone are counted for
good, with growing waits. A gateway failure is reported, never lost: the
member stays recorded and a later send works.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, literal, select, update

from backoffice import audit, keys, ratelimits, sms
from backoffice.audit import state as row_state
from backoffice.extensions import db
from backoffice.models import JoinSignup, Member, PhoneRecord, PhoneVerification, utcnow
from backoffice.services.errors import ServiceError
from backoffice.services.phone_records import count_failure, forgive, wait_of, wait_seconds
from backoffice.sms import health as sms_health

log = logging.getLogger(__name__)
CODE_DIGITS = 6


@dataclass
class Result:
    """What to tell the person at the screen."""

    ok: bool
    message: object
    wait_seconds: int = 0


def _config(name):
    return current_app.config[name]


def _hash(verification: PhoneVerification, code: str) -> str:
    message = f"{verification.id}|{verification.member_id}|{verification.phone}|{code}"
    return keys.keyed_hash("otp-codes", message)


# The phone's record (its wait for wrong codes) and the member's newest pending code,
# in one statement built once: outer joins from a one-row base, so a phone without a
# record or a member without a pending code still gives a row (None in its place).
_ONE_ROW = select(literal(1).label("one")).subquery("one_row")
_PHONE_AND_PENDING = (
    select(PhoneRecord, PhoneVerification).select_from(_ONE_ROW)
    .outerjoin(PhoneRecord, PhoneRecord.phone == bindparam("phone"))
    .outerjoin(PhoneVerification, and_(PhoneVerification.member_id == bindparam("member_id"),
                                       PhoneVerification.status == "pending"))
    .order_by(PhoneVerification.id.desc()).limit(1))


def _phone_and_pending(member: Member) -> tuple[PhoneRecord | None, PhoneVerification | None]:
    record, verification = db.session.execute(
        _PHONE_AND_PENDING, {"phone": member.mobile, "member_id": member.id}).one()
    return record, verification


def send_code(member: Member, *, actor=None, ip: str = "", locale: str = "hi",
              settle: Callable[[], None] | None = None, locked: bool = False) -> Result:
    """Send (or resend) a code to the member's phone. The caller commits.

    The send is claimed first: the cooldown and the count are checked and
    taken under a lock on the member's row, so parallel requests for one
    member send one code. Then ``settle`` runs: boundaries pass
    ``db.session.commit``, so the claim is visible to the others and no write
    transaction stays open while the gateway answers (docs/sqlite.md). A send
    the gateway did not accept gives its count, its cooldown and its
    rate-limit uses back.

    ``locked``: the caller has just read the member with its row locked (SELECT ...
    FOR NO KEY UPDATE, as _lock does) in this transaction, so it is not read again.
    """
    claim = _claim(member, actor=actor, ip=ip, locale=locale, locked=locked)
    if isinstance(claim, Result):
        return claim
    (settle or db.session.flush)()
    return _deliver(claim, actor)


@dataclass
class _Ref:
    """What the audit log names of a code: its member, their block, the gateway."""

    verification_id: int
    member_id: int
    unit_id: int | None
    gateway: str

    @classmethod
    def of(cls, verification: PhoneVerification, member: Member) -> _Ref:
        return cls(verification.id, member.id, member.block_id, verification.gateway)


@dataclass
class _Claim:
    """A send counted and committed, to be handed to the gateway: plain values only,
    so nothing is loaded from the database while the gateway answers."""

    ref: _Ref
    phone: str
    gateway: sms.Gateway
    code: str | None
    text: str | None
    locale: str
    before: dict  # the verification's send fields before the claim, to give back
    charge: ratelimits.Charge
    code_hash: str | None  # written with the gateway's answer (_deliver)


def _claim(member: Member, *, actor, ip: str, locale: str, locked: bool) -> _Claim | Result:
    if not locked:
        _lock(member)
    if member.status != "recorded":
        raise ServiceError(_l("This member's phone is already verified."))
    now = utcnow()
    record, pending = _phone_and_pending(member)  # read under the member's lock
    if waiting := _waiting(wait_of(record, now)):
        return waiting
    verification = _open_verification(member, pending, now)
    if verification is not None and (refusal := resend_refusal(verification.sends,
                                                               verification.last_sent_at, now)):
        return refusal
    charge = ratelimits.charge(_limits(member.mobile, actor, ip))
    if charge is None:
        return Result(False, sms.REASONS["too_many"])
    gateway = sms.gateway()
    # The claim is the send counted: one INSERT for a new code, one UPDATE for a resend.
    # The code's hash (it needs the row's id) is written with the gateway's answer
    # (_deliver): until then a resend's earlier code still works, as it does when the
    # send fails.
    if verification is None:
        verification = PhoneVerification(
            member_id=member.id, phone=member.mobile, gateway=gateway.name, sends=1,
            checks=0, last_sent_at=now, sent_by_id=actor.id if actor is not None else None,
            expires_at=now + timedelta(seconds=_config("OTP_TTL_SECONDS")))
        db.session.add(verification)
        before = {"sends": 0, "last_sent_at": None, "code_hash": None}
    else:
        before = {"sends": verification.sends, "last_sent_at": verification.last_sent_at,
                  "code_hash": verification.code_hash}
        verification.sends += 1
        verification.last_sent_at = now
    db.session.flush()
    code = text = code_hash = None
    if not gateway.manages_codes:
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        code_hash = _hash(verification, code)
        template = _config("SMS_TEMPLATE")
        text = template.get(locale, template["en"]).format(code=code)
    return _Claim(_Ref.of(verification, member), member.mobile, gateway, code, text, locale,
                  before, charge, code_hash)


def _lock(member: Member) -> None:
    """Sends for one member queue up here: a row lock on PostgreSQL; on SQLite the
    write lock a writing request takes at BEGIN (docs/sqlite.md). The member is
    re-read, so a status or phone changed meanwhile is seen."""
    db.session.scalars(select(Member).where(Member.id == member.id)
                       .with_for_update(key_share=True)
                       .execution_options(populate_existing=True)).one()


def _open_verification(member: Member, verification: PhoneVerification | None,
                       now) -> PhoneVerification | None:
    """The member's code still in play (of their pending one), or None; closes one that
    is not."""
    if verification is None:
        return None
    if verification.phone != member.mobile:
        verification.status = "canceled"
    elif verification.expires_at <= now:
        verification.status = "expired"
    elif verification.checks >= _config("OTP_MAX_CHECKS"):
        verification.status = "canceled"  # its tries are spent: a new code gets its own
    else:
        return verification
    return None


def resend_refusal(sends: int, last_sent_at, now) -> Result | None:
    """Why another send of the same code is refused now (a count or a growing
    cooldown), or None when it may go."""
    if sends >= _config("OTP_MAX_SENDS"):
        return Result(False, sms.REASONS["too_many"])
    if not sends:
        return None
    cooldown = _config("OTP_RESEND_COOLDOWN_SECONDS") * 2 ** (sends - 1)
    ready_at = last_sent_at + timedelta(seconds=cooldown)
    if ready_at <= now:
        return None
    left = int((ready_at - now).total_seconds()) + 1
    return Result(False, _l("Wait %(n)s seconds before asking for another code.", n=left), left)


def _must_wait(phone: str, now) -> Result | None:
    """The answer while a phone is serving a wait for wrong codes, else None."""
    return _waiting(wait_seconds(phone, now))


def _waiting(wait: int) -> Result | None:
    if not wait:
        return None
    return Result(False, _l("Too many wrong codes for this number. Try again in %(n)s seconds.",
                            n=wait), wait)


def _limits(phone: str | None, actor, ip: str) -> list[tuple[str, str, str]]:
    checks = []
    if phone:
        checks.append(("otp-phone", phone, _config("OTP_PHONE_LIMIT")))
    if ip:
        checks.append(("otp-ip", ip, _config("OTP_IP_LIMIT")))
    if actor is not None:
        checks.append(("otp-enroller", str(actor.id), _config("OTP_ENROLLER_LIMIT")))
    return checks


def _deliver(claim: _Claim, actor) -> Result:
    """Hand the claimed send to the gateway, then record what it answered."""
    try:
        sent = claim.gateway.send_code(claim.phone, claim.code, claim.text, claim.locale)
    except sms.GatewayError as error:
        log.warning("SMS send failed: reason=%s code=%s verification=%s", error.reason,
                    error.code, claim.ref.verification_id,
                    extra={"sms_outcome": "failed", "sms_reason": error.reason,
                           "provider_code": str(error.code),
                           "verification_id": claim.ref.verification_id})
        sms_health.record(error.reason)
        claim.charge.refund()
        _give_back(claim)
        _log_otp("otp.send_failed", claim.ref, actor,
                 {"reason": error.reason, "provider_code": str(error.code)})
        return Result(False, error.message)
    values = {"provider_sid": sent.provider_sid}
    if claim.code_hash is not None:
        values["code_hash"] = claim.code_hash
    db.session.execute(update(PhoneVerification).where(
        PhoneVerification.id == claim.ref.verification_id,
        PhoneVerification.sends == claim.before["sends"] + 1).values(**values))
    sms_health.record(None)
    log.info("SMS sent: verification=%s", claim.ref.verification_id,
             extra={"sms_outcome": "sent", "verification_id": claim.ref.verification_id})
    _log_otp("otp.send", claim.ref, actor, {"send": claim.before["sends"] + 1})
    return Result(True, _l("A code was sent by SMS to the member's mobile."))


def _give_back(claim: _Claim) -> None:
    """Undo the claim of a send that did not go: its count, cooldown and code."""
    values = dict(claim.before)
    if not values["sends"]:
        values["status"] = "failed"  # no code of this verification ever went out
    db.session.execute(update(PhoneVerification).where(
        PhoneVerification.id == claim.ref.verification_id,
        PhoneVerification.sends == claim.before["sends"] + 1).values(**values))


def check_code(member: Member, code: str, *, actor=None,
               settle: Callable[[], None] | None = None) -> Result:
    """Check a typed code; on success the member becomes phone_verified, once.

    ``settle`` runs after the check is counted and before a gateway that keeps
    the codes itself (Twilio Verify) is asked, as in send_code().
    """
    code = _typed(code)
    if code is None:
        return Result(False, _l("Enter the 6-digit code, using the digits 0-9."))
    now = utcnow()
    # Read once: the wait it sets, and a phone with no record has no wait for a right
    # code to lift; with the pending code.
    record, verification = _phone_and_pending(member)
    if waiting := _waiting(wait_of(record, now)):
        return waiting
    if verification is None or verification.phone != member.mobile:
        return Result(False, sms.REASONS["expired"])
    if verification.expires_at <= now:
        verification.status = "expired"
        return Result(False, sms.REASONS["expired"])
    ref = _Ref.of(verification, member)
    if sms.gateway().manages_codes:
        # Count the check first, atomically: parallel guesses cannot exceed the limit.
        counted = db.session.execute(
            update(PhoneVerification)
            .where(PhoneVerification.id == verification.id,
                   PhoneVerification.status == "pending",
                   PhoneVerification.checks < _config("OTP_MAX_CHECKS"))
            .values(checks=PhoneVerification.checks + 1)
            .returning(PhoneVerification.checks)).scalar()
        if counted is None:
            return Result(False, sms.REASONS["wrong_code_limit"])
        try:
            right = _matches(verification, code, settle or db.session.flush)
        except sms.GatewayError as error:
            sms_health.record(error.reason)
            return Result(False, error.message)
        won = right and _won(verification, now)
    else:
        counted, right = _count_and_match(verification, code, now)
        if counted is None:
            return Result(False, sms.REASONS["wrong_code_limit"])
        won = right
    _log_otp("otp.check", ref, actor,
             {"right": right, "check": counted})
    if not right:
        return _wrong(member.mobile, counted, now)
    return _approve(verification, member, actor, now, won=won, forgive_phone=record is not None)


def _typed(code: str | None) -> str | None:
    """Six ASCII digits, spaces dropped; None for anything else (not counted as a guess)."""
    code = (code or "").strip().replace(" ", "")
    if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
        return None
    return code


def _wrong(phone: str | None, counted: int, now) -> Result:
    if phone:
        count_failure(phone, now)
    left = _config("OTP_MAX_CHECKS") - counted
    return Result(False, _l("The code is wrong. %(n)s tries left.", n=left))


def _matches(verification: PhoneVerification, code: str, settle) -> bool:
    gateway = sms.gateway()
    if gateway.manages_codes:
        phone = verification.phone
        settle()
        return gateway.check_code(phone, code)
    return hmac.compare_digest(verification.code_hash or "", _hash(verification, code))


def _count_and_match(verification: PhoneVerification, code: str, now) -> tuple[int | None, bool]:
    """Count the check and, if the code is right, approve the code, in one statement
    (atomic: parallel guesses cannot exceed the limit, and one check approves). The
    stored HMAC is compared with the typed code's in the database: what its timing could
    tell is how much of two HMACs agree, and no one can aim at that without the key.
    (None, False) when the code is no longer pending or its checks are spent."""
    matched = PhoneVerification.code_hash == _hash(verification, code)
    found = db.session.execute(
        update(PhoneVerification)
        .where(PhoneVerification.id == verification.id, PhoneVerification.status == "pending",
               PhoneVerification.checks < _config("OTP_MAX_CHECKS"))
        .values(checks=PhoneVerification.checks + 1,
                status=case((matched, "approved"), else_=PhoneVerification.status),
                approved_at=case((matched, now), else_=PhoneVerification.approved_at))
        .returning(PhoneVerification.checks, PhoneVerification.status),
        execution_options={"synchronize_session": False}).one_or_none()
    if found is None:
        return None, False
    return found.checks, found.status == "approved"


def _won(verification, now) -> bool:
    """Approve a code the gateway said is right, once."""
    return db.session.execute(
        update(PhoneVerification)
        .where(PhoneVerification.id == verification.id, PhoneVerification.status == "pending")
        .values(status="approved", approved_at=now).returning(PhoneVerification.id)
    ).scalar() is not None


def _approve(verification, member, actor, now, *, won: bool, forgive_phone: bool) -> Result:
    if won:
        # The row as stored comes back for the event's state digest (not read again).
        stored = db.session.execute(
            update(Member)
            .where(Member.id == member.id, Member.status == "recorded",
                   Member.mobile == verification.phone)
            .values(status="phone_verified", verified_at=now,
                    verified_by_id=actor.id if actor is not None else None, updated_at=now)
            .returning(*row_state.RETURNING),
            execution_options={"synchronize_session": False, "audited": True}).one_or_none()
        if stored is not None:
            row_state.returned(db.session, stored)
        audit.record("member.verify_phone", entity_type="member", entity_id=member.id,
                     unit_id=member.block_id, actor=actor,
                     changes={"status": ["recorded", "phone_verified"]},
                     details={"verification": verification.id})
        if forgive_phone:
            forgive(member.mobile)
    db.session.expire(member)
    return Result(True, _l("The phone number is verified."))


def _log_otp(action, ref, actor, details) -> None:
    """OTP sends and checks go to the audit log: never the code, only what happened."""
    audit.record(action, entity_type="member", entity_id=ref.member_id, unit_id=ref.unit_id,
                 actor=actor, details=details | {"gateway": ref.gateway,
                                                 "verification": ref.verification_id})


def phone_record(phone: str) -> PhoneRecord | None:
    return db.session.get(PhoneRecord, phone)


def send_decoy(signup: JoinSignup, *, ip: str = "",
               settle: Callable[[], None] | None = None) -> Result:
    """A refused /join signup's send: the answers, counts and limits of send_code()
    on the signup's own row, and no SMS (see JoinSignup)."""
    return send_on_row(signup, waits_for=signup.phone, limits=_limits(signup.phone, None, ip),
                       settle=settle)


def send_on_row(row: JoinSignup, *, waits_for: str | None, limits: list[tuple[str, str, str]],
                settle: Callable[[], None] | None = None,
                deliver: Callable[[JoinSignup], None] | None = None) -> Result:
    """A send of a code whose counts live on a JoinSignup row: a refused /join signup's
    stand-in, or a /status lookup (services/lookups.py). The answers, counts, cooldown
    and limits of send_code(); the phone ``waits_for`` names serves its wrong-code waits.

    Without ``deliver`` nothing is sent (a stand-in): while the gateway has been
    failing it answers that failure, as a real send would. With it, ``deliver(row)``
    runs after the claim is settled (committed) and raises GatewayError when the SMS did
    not go: the claim is then given back, as send_code() gives its claim back.
    """
    db.session.scalars(select(JoinSignup).where(JoinSignup.id == row.id).with_for_update()
                       .execution_options(populate_existing=True)).one()
    now = utcnow()
    if waits_for and (waiting := _must_wait(waits_for, now)):
        return waiting
    before = (row.sends, row.checks, row.expires_at)
    if (row.expires_at is None or row.expires_at <= now
            or row.checks >= _config("OTP_MAX_CHECKS")):
        row.sends, row.checks = 0, 0  # as a new code would start
        row.expires_at = now + timedelta(seconds=_config("OTP_TTL_SECONDS"))
    elif refusal := resend_refusal(row.sends, row.last_sent_at, now):
        return refusal
    charge = ratelimits.charge(limits)
    if charge is None:
        return Result(False, sms.REASONS["too_many"])
    if deliver is None and (reason := sms_health.outage()) is not None:
        charge.refund()  # as a real send fails, given back
        row.sends, row.checks, row.expires_at = before
        (settle or db.session.flush)()
        return Result(False, sms.REASONS[reason])
    row.sends += 1
    row.last_sent_at = now
    row_id, sends = row.id, row.sends
    (settle or db.session.flush)()
    if deliver is not None:
        try:
            deliver(row)
        except sms.GatewayError as error:
            charge.refund()
            db.session.execute(update(JoinSignup).where(
                JoinSignup.id == row_id, JoinSignup.sends == sends).values(
                sends=before[0], checks=before[1], expires_at=before[2]))
            return Result(False, error.message)
    return Result(True, _l("A code was sent by SMS to the member's mobile."))


def check_decoy(signup: JoinSignup, code: str) -> Result:
    """A refused /join signup's check: check_code()'s answers, never a match."""
    return check_on_row(signup, code, waits_for=signup.phone)


def check_on_row(row: JoinSignup, code: str, *, waits_for: str | None,
                 limits: list[tuple[str, str, str]] | None = None,
                 matches: Callable[[str], bool] | None = None) -> Result:
    """A check of a code whose counts live on a JoinSignup row: check_code()'s answers
    and counts. Without ``matches`` it never matches (a stand-in); ``limits`` are
    charged once per counted check (a /status lookup's per number)."""
    if _typed(code) is None:
        return Result(False, _l("Enter the 6-digit code, using the digits 0-9."))
    code = _typed(code)
    now = utcnow()
    if waits_for and (waiting := _must_wait(waits_for, now)):
        return waiting
    if not row.sends or row.expires_at is None or row.expires_at <= now:
        return Result(False, sms.REASONS["expired"])
    if limits and ratelimits.charge(limits) is None:
        return Result(False, sms.REASONS["wrong_code_limit"])
    counted = db.session.execute(
        update(JoinSignup)
        .where(JoinSignup.id == row.id, JoinSignup.checks < _config("OTP_MAX_CHECKS"))
        .values(checks=JoinSignup.checks + 1).returning(JoinSignup.checks)).scalar()
    if counted is None:
        return Result(False, sms.REASONS["wrong_code_limit"])
    if matches is None:
        if sms.gateway().manages_codes and (reason := sms_health.outage()) is not None:
            return Result(False, sms.REASONS[reason])  # a real check asks the gateway too
        return _wrong(waits_for, counted, now)
    try:
        right = matches(code)
    except sms.GatewayError as error:
        sms_health.record(error.reason)
        return Result(False, error.message)
    if not right:
        return _wrong(waits_for, counted, now)
    return Result(True, "")
