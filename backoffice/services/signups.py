"""Signups on the public join page, as the person's browser knows them.

The browser holds a random handle (the database keeps only its hash). A
signup that made a member leads to that member's code; one that was refused,
because its voter ID or phone is already registered, or that looked
automated, leads to a stand-in that answers the code step the same way and
sends nothing (verification.send_decoy). Cookies, messages, counts and
cooldowns are the same either way, so the page cannot be used to find out
who is a member.
"""

from __future__ import annotations

import hashlib
import secrets
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from backoffice.extensions import db
from backoffice.models import JoinSignup, Member, utcnow
from backoffice.services import verification
from backoffice.services.errors import ValidationError
from backoffice.services.validation import normalise_mobile

KEEP = timedelta(days=1)  # a signup's handle is good for this long


def _hash(handle: str) -> str:
    return hashlib.sha256(handle.encode()).hexdigest()


def start(member: Member | None, typed_mobile: str | None = None) -> tuple[JoinSignup, str]:
    """A new signup and its handle, for ``member`` or, when refused (None), for the
    number typed. Old signups are dropped on the way: the same work either way."""
    phone = None
    if member is None:
        try:
            phone = normalise_mobile(typed_mobile)
        except ValidationError:
            phone = None  # only forms that look automated get here with a bad number
    return open_row("join", member.id if member else None, phone=phone)


def open_row(purpose: str, member_id: int | None, *, phone: str | None = None,
             lookup_key: str | None = None) -> tuple[JoinSignup, str]:
    """A new public code session (a /join signup or a /status lookup) and its random
    handle, the browser's only name for it; rows older than a day are dropped on the
    way, the same work whether or not the session has a member."""
    now = utcnow()
    db.session.execute(delete(JoinSignup).where(JoinSignup.created_at < now - KEEP))
    handle = secrets.token_urlsafe(24)
    signup = JoinSignup(handle_hash=_hash(handle), member_id=member_id, phone=phone,
                        lookup_key=lookup_key, purpose=purpose, sends=0, checks=0,
                        created_at=now)
    db.session.add(signup)
    db.session.flush()
    return signup, handle


def find(handle, purpose: str = "join") -> JoinSignup | None:
    if not isinstance(handle, str) or not handle or len(handle) > 64:
        return None
    return db.session.scalar(select(JoinSignup).where(
        JoinSignup.handle_hash == _hash(handle), JoinSignup.purpose == purpose,
        JoinSignup.created_at >= utcnow() - KEEP))


def send(signup: JoinSignup, *, ip: str, locale: str,
         settle: Callable[[], None] | None = None) -> verification.Result:
    """Send the signup's code (or play it out). The caller commits."""
    if signup.member_id is None:
        return verification.send_decoy(signup, ip=ip, settle=settle)
    member = db.session.get(Member, signup.member_id)
    if member is None or member.status != "recorded":
        return verification.Result(True, "")  # already verified: nothing more to send
    return verification.send_code(member, ip=ip, locale=locale, settle=settle)


def check(signup: JoinSignup, code: str, *,
          settle: Callable[[], None] | None = None) -> verification.Result:
    """Check a typed code against the signup's (a stand-in never matches)."""
    if signup.member_id is None:
        return verification.check_decoy(signup, code)
    member = db.session.get(Member, signup.member_id)
    if member is None:
        return verification.check_decoy(signup, code)
    return verification.check_code(member, code, settle=settle)


def number(signup: JoinSignup) -> str | None:
    """The number the code goes to (the member's, or the one a refused signup typed)."""
    if signup.member_id is None:
        return signup.phone
    return db.session.scalar(select(Member.mobile).where(Member.id == signup.member_id))


def masked_number(signup: JoinSignup) -> str:
    """+919876543210 as "+91 98••••3210": enough for its owner to see a typo, alike
    for a member and a refused signup (each shows the number typed)."""
    return mask(number(signup))


def mask(phone: str | None) -> str:
    """+919876543210 as "+91 98••••3210" ("" for none)."""
    if not phone:
        return ""
    return f"{phone[:3]} {phone[3:5]}{'•' * (len(phone) - 9)}{phone[-4:]}"


def correct_number(signup: JoinSignup, typed: str) -> None:
    """Point the signup's code at a corrected number; the caller sends and commits.

    A number that is not a mobile is refused (ValidationError), as on the form. A
    member's new number that already has the most members a phone may have
    turns the signup into a stand-in for it, as such a signup is on the form:
    the answers that follow are the same either way. A stand-in starts its
    counts again, as a member's new number gets a new code.
    """
    phone = normalise_mobile(typed)
    member = db.session.get(Member, signup.member_id) if signup.member_id else None
    if member is not None and member.status == "recorded":
        others = db.session.scalar(select(func.count()).select_from(Member).where(
            Member.mobile == phone, Member.id != member.id))
        if others < current_app.config["MAX_MEMBERS_PER_PHONE"]:
            member.mobile = phone  # its code for the old number is cancelled at the send
            db.session.flush()
            return
        signup.member_id = None  # the phone is full: a stand-in from here on
    if signup.member_id is None:
        signup.phone = phone
        signup.sends, signup.checks, signup.expires_at = 0, 0, None
        db.session.flush()


class Pace:
    """How long a new signup's steps take in this process (the median of the last
    few of each step), so that a refused signup's answer is held until it has
    taken as long: the time of an answer must not tell either (docs/sms-otp.md)."""

    KEEP = 25

    def __init__(self) -> None:
        self.seconds: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def keep(self, step: str, real: bool, started: float) -> None:
        """Call after the step's last commit, ``started`` from time.perf_counter()."""
        elapsed = time.perf_counter() - started
        with self.lock:
            recent = self.seconds.setdefault(step, deque(maxlen=self.KEEP))
            if real:
                recent.append(elapsed)
                return
            usual = statistics.median(recent) if recent else 0.0
        time.sleep(max(0.0, usual - elapsed))


def pace() -> Pace:
    return current_app.extensions["join_pace"]
