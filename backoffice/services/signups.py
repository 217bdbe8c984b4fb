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
from sqlalchemy import delete, select

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
    now = utcnow()
    db.session.execute(delete(JoinSignup).where(JoinSignup.created_at < now - KEEP))
    handle = secrets.token_urlsafe(24)
    phone = None
    if member is None:
        try:
            phone = normalise_mobile(typed_mobile)
        except ValidationError:
            phone = None  # only forms that look automated get here with a bad number
    signup = JoinSignup(handle_hash=_hash(handle), member_id=member.id if member else None,
                        phone=phone, sends=0, checks=0, created_at=now)
    db.session.add(signup)
    db.session.flush()
    return signup, handle


def find(handle) -> JoinSignup | None:
    if not isinstance(handle, str) or not handle or len(handle) > 64:
        return None
    return db.session.scalar(select(JoinSignup).where(
        JoinSignup.handle_hash == _hash(handle), JoinSignup.created_at >= utcnow() - KEEP))


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
