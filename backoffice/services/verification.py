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
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from backoffice import audit, keys, ratelimits, sms
from backoffice.extensions import db
from backoffice.models import Member, PhoneRecord, PhoneVerification, utcnow
from backoffice.services.errors import ServiceError
from backoffice.services.phone_records import count_failure, forgive, wait_seconds

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


def _pending(member: Member) -> PhoneVerification | None:
    return db.session.scalar(
        select(PhoneVerification)
        .where(PhoneVerification.member_id == member.id, PhoneVerification.status == "pending")
        .order_by(PhoneVerification.id.desc()).limit(1))


def send_code(member: Member, *, actor=None, ip: str = "", locale: str = "hi") -> Result:
    """Send (or resend) a code to the member's phone. The caller commits."""
    if member.status != "recorded":
        raise ServiceError(_l("This member's phone is already verified."))
    now = utcnow()
    if waiting := _must_wait(member.mobile, now):
        return waiting
    verification = _pending(member)
    if verification is not None and (verification.phone != member.mobile
                                     or verification.expires_at <= now):
        verification.status = "canceled" if verification.phone != member.mobile else "expired"
        verification = None
    if verification is not None:
        if verification.sends >= _config("OTP_MAX_SENDS"):
            return Result(False, sms.REASONS["too_many"])
        cooldown = _config("OTP_RESEND_COOLDOWN_SECONDS") * 2 ** (verification.sends - 1)
        ready_at = verification.last_sent_at + timedelta(seconds=cooldown)
        if ready_at > now:
            left = int((ready_at - now).total_seconds()) + 1
            return Result(False, _l("Wait %(n)s seconds before asking for another code.", n=left),
                          left)
    if not _within_limits(member.mobile, actor, ip):
        return Result(False, sms.REASONS["too_many"])
    return _deliver(member, verification, actor=actor, locale=locale, now=now)


def _must_wait(phone: str, now) -> Result | None:
    """The answer while a phone is serving a wait for wrong codes, else None."""
    wait = wait_seconds(phone, now)
    if not wait:
        return None
    return Result(False, _l("Too many wrong codes for this number. Try again in %(n)s seconds.",
                            n=wait), wait)


def _within_limits(phone: str, actor, ip: str) -> bool:
    checks = [("otp-phone", phone, _config("OTP_PHONE_LIMIT"))]
    if ip:
        checks.append(("otp-ip", ip, _config("OTP_IP_LIMIT")))
    if actor is not None:
        checks.append(("otp-enroller", str(actor.id), _config("OTP_ENROLLER_LIMIT")))
    allowed = True
    for name, value, limits in checks:
        allowed = ratelimits.hit(name, value, limits) and allowed
    return allowed


def _deliver(member, verification, *, actor, locale, now) -> Result:
    gateway = sms.gateway()
    if verification is None:
        verification = PhoneVerification(
            member_id=member.id, phone=member.mobile, gateway=gateway.name, sends=0,
            checks=0, sent_by_id=actor.id if actor is not None else None,
            expires_at=now + timedelta(seconds=_config("OTP_TTL_SECONDS")))
        db.session.add(verification)
        db.session.flush()
    code = text = None
    if not gateway.manages_codes:
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        verification.code_hash = _hash(verification, code)
        template = _config("SMS_TEMPLATE")
        text = template.get(locale, template["en"]).format(code=code)
    try:
        sent = gateway.send_code(member.mobile, code, text, locale)
    except sms.GatewayError as error:
        log.warning("SMS send failed: reason=%s code=%s verification=%s", error.reason,
                    error.code, verification.id)
        if verification.sends == 0:
            verification.status = "failed"
        _log_otp("otp.send_failed", member, actor, verification,
                 {"reason": error.reason, "provider_code": str(error.code)})
        return Result(False, error.message)
    _log_otp("otp.send", member, actor, verification, {"send": verification.sends + 1})
    verification.sends += 1
    verification.last_sent_at = now
    verification.provider_sid = sent.provider_sid
    return Result(True, _l("A code was sent by SMS to the member's mobile."))


def check_code(member: Member, code: str, *, actor=None) -> Result:
    """Check a typed code; on success the member becomes phone_verified, once."""
    code = (code or "").strip().replace(" ", "")
    if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
        return Result(False, _l("Enter the 6-digit code, using the digits 0-9."))
    now = utcnow()
    if waiting := _must_wait(member.mobile, now):
        return waiting
    verification = _pending(member)
    if verification is None or verification.phone != member.mobile:
        return Result(False, sms.REASONS["expired"])
    if verification.expires_at <= now:
        verification.status = "expired"
        return Result(False, sms.REASONS["expired"])
    # Count the check first, atomically: parallel guesses cannot exceed the limit.
    counted = db.session.execute(
        update(PhoneVerification)
        .where(PhoneVerification.id == verification.id, PhoneVerification.status == "pending",
               PhoneVerification.checks < _config("OTP_MAX_CHECKS"))
        .values(checks=PhoneVerification.checks + 1)
        .returning(PhoneVerification.checks)).scalar()
    if counted is None:
        return Result(False, sms.REASONS["wrong_code_limit"])
    try:
        right = _matches(verification, code)
    except sms.GatewayError as error:
        return Result(False, error.message)
    _log_otp("otp.check", member, actor, verification, {"right": right, "check": counted})
    if not right:
        count_failure(member.mobile, now)
        left = _config("OTP_MAX_CHECKS") - counted
        return Result(False, _l("The code is wrong. %(n)s tries left.", n=left))
    return _approve(verification, member, actor, now)


def _matches(verification: PhoneVerification, code: str) -> bool:
    gateway = sms.gateway()
    if gateway.manages_codes:
        return gateway.check_code(verification.phone, code)
    return hmac.compare_digest(verification.code_hash or "", _hash(verification, code))


def _approve(verification, member, actor, now) -> Result:
    won = db.session.execute(
        update(PhoneVerification)
        .where(PhoneVerification.id == verification.id, PhoneVerification.status == "pending")
        .values(status="approved", approved_at=now).returning(PhoneVerification.id)).scalar()
    if won is not None:
        db.session.execute(
            update(Member)
            .where(Member.id == member.id, Member.status == "recorded",
                   Member.mobile == verification.phone)
            .values(status="phone_verified", verified_at=now,
                    verified_by_id=actor.id if actor is not None else None, updated_at=now),
            execution_options={"synchronize_session": False, "audited": True})
        audit.record("member.verify_phone", entity_type="member", entity_id=member.id,
                     unit_id=member.block_id, actor=actor,
                     changes={"status": ["recorded", "phone_verified"]},
                     details={"verification": verification.id})
        forgive(member.mobile)
    db.session.expire(member)
    return Result(True, _l("The phone number is verified."))


def _log_otp(action, member, actor, verification, details) -> None:
    """OTP sends and checks go to the audit log: never the code, only what happened."""
    audit.record(action, entity_type="member", entity_id=member.id, unit_id=member.block_id,
                 actor=actor, details=details | {"gateway": verification.gateway,
                                                 "verification": verification.id})


def phone_record(phone: str) -> PhoneRecord | None:
    return db.session.get(PhoneRecord, phone)
