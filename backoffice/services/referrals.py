"""Recruiter links (docs/referrals.md): every staff user and every member has a short
random code; /r/<code> leads to /join?ref=<code>, and a signup made through it names
its recruiter on the member (audited).

A referral changes nothing of the signup's checks: the same code step, limits and
look-alike answers as any /join signup. Leaderboards count only recruits whose phone
was verified, so a recruiter gains nothing from signups that never pass the code.
"""

from __future__ import annotations

import io
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import qrcode
import qrcode.image.svg
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from backoffice import audit
from backoffice.auth.scoping import member_filter
from backoffice.extensions import db
from backoffice.models import Member, StaffUser, Unit, utcnow

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud, typed from paper
LENGTH = 8  # 31^8 ~ 8.5e11: not guessable at /join's rate limit
CODE = re.compile(rf"[{ALPHABET}]{{{LENGTH}}}")
IST = timedelta(minutes=330)
COUNTED = ("phone_verified", "approved")  # recruits that passed the code step


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def code_for(owner: StaffUser | Member) -> str:
    """The owner's code, made (and committed by the caller) the first time it is asked."""
    if owner.ref_code:
        return owner.ref_code
    for _attempt in range(5):
        code = _new_code()
        try:
            with db.session.begin_nested():
                owner.ref_code = code
                db.session.flush()
        except IntegrityError:  # taken already (1 in 10^11): draw again
            owner.ref_code = None
            continue
        return code
    raise RuntimeError("no free referral code")


def clean(code) -> str | None:
    """A well-formed code or None (anything crafted is just no referral)."""
    if not isinstance(code, str):
        return None
    code = code.strip().lower()
    return code if CODE.fullmatch(code) else None


@dataclass(frozen=True)
class Recruiter:
    kind: str  # "staff" or "member"
    id: int


def recruiter_for(code) -> Recruiter | None:
    code = clean(code)
    if code is None:
        return None
    staff_id = db.session.scalar(select(StaffUser.id).where(StaffUser.ref_code == code,
                                                             StaffUser.active.is_(True)))
    if staff_id is not None:
        return Recruiter("staff", staff_id)
    member_id = db.session.scalar(select(Member.id).where(
        Member.ref_code == code, Member.status.in_(("phone_verified", "approved"))))
    return Recruiter("member", member_id) if member_id is not None else None


def attribute(member: Member, code) -> Recruiter | None:
    """Name the member's recruiter from the link's code (in the signup's transaction),
    with an audit event; an unknown or retired code is no referral. A member never
    recruits themselves."""
    recruiter = recruiter_for(code)
    if recruiter is None or (recruiter.kind == "member" and recruiter.id == member.id):
        return None
    if recruiter.kind == "staff":
        member.referrer_staff_id = recruiter.id
    else:
        member.referrer_member_id = recruiter.id
    db.session.flush()
    audit.record("member.referred", entity_type="member", entity_id=member.id,
                 unit_id=member.block_id,
                 details={"recruiter": f"{recruiter.kind}:{recruiter.id}"})
    return recruiter


def link(code: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/r/{code}"


def qr_svg(url: str) -> str:
    """The link as an SVG QR code (inline in the page; no script, no outside service)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


def week_start(now: datetime | None = None) -> datetime:
    """Monday 00:00 IST of this week, as naive UTC."""
    local = (now or utcnow()) + IST
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0,
                                                               microsecond=0)
    return monday - IST


@dataclass
class Row:
    unit_id: int
    unit: str
    kind: str
    recruiter_id: int
    name: str  # a staff user's name; a member is named by membership number
    recruits: int


def leaderboard(user, permission: str, level: str, *, since: datetime,
                limit_per_unit: int = 10) -> list[Row]:
    """Recruiters per block or district since ``since``: verified recruits among the
    members the viewer may see, grouped by the recruits' unit at ``level``. A block
    president sees their block's recruits only, whoever recruited them."""
    from backoffice.services.membership_numbers import format_membership_no

    unit_column = Member.block_id if level == "block" else Member.district_id
    count = func.count().label("recruits")
    rows = []
    for kind, column in (("staff", Member.referrer_staff_id),
                         ("member", Member.referrer_member_id)):
        query = (select(unit_column, column, count)
                 .where(member_filter(user, permission), column.is_not(None),
                        Member.created_at >= since, Member.status.in_(COUNTED))
                 .group_by(unit_column, column))
        rows += [(unit_id, kind, rid, n) for unit_id, rid, n in db.session.execute(query)]
    units = {u.id: str(u) for u in db.session.scalars(
        select(Unit).where(Unit.id.in_({r[0] for r in rows})))} if rows else {}
    staff_ids = {r[2] for r in rows if r[1] == "staff"}
    names = dict(db.session.execute(select(StaffUser.id, StaffUser.full_name).where(
        StaffUser.id.in_(staff_ids))).all()) if staff_ids else {}
    out = [Row(unit_id, units.get(unit_id, ""), kind, rid,
               names.get(rid, "") if kind == "staff" else format_membership_no(rid), n)
           for unit_id, kind, rid, n in rows]
    out.sort(key=lambda r: (r.unit, -r.recruits, r.name))
    kept, per_unit = [], {}
    for row in out:
        per_unit[row.unit_id] = per_unit.get(row.unit_id, 0) + 1
        if per_unit[row.unit_id] <= limit_per_unit:
            kept.append(row)
    return kept


def referred_from_one_source(user, permission: str, *, since: datetime, until: datetime,
                             min_phone: int, min_address: int):
    """One recruiter's referrals beyond the usual limits: ``min_phone`` or more recruits
    on one phone, or ``min_address`` or more signups from one client address (the
    audit events' source address). Rows: (recruiter's name, "phone" or "address", the
    phone or address, recruits)."""
    from backoffice.models import AuditEvent

    window = and_(member_filter(user, permission), Member.created_at >= since,
                  Member.created_at < until)
    found = []
    for kind, column in (("staff", Member.referrer_staff_id),
                         ("member", Member.referrer_member_id)):
        count = func.count().label("n")
        for rid, phone, n in db.session.execute(
                select(column, Member.mobile, count).where(window, column.is_not(None))
                .group_by(column, Member.mobile).having(func.count() >= min_phone)):
            found.append((f"{kind}:{rid}", "phone", phone, n))
    in_scope = select(Member.id).where(window)
    per_address = Counter(
        (_recruiter_of(details), address) for details, address in db.session.execute(
            select(AuditEvent.details, AuditEvent.source_ip)
            .where(AuditEvent.action == "member.referred",
                   AuditEvent.occurred_at >= since.isoformat(),
                   AuditEvent.entity_id.in_(in_scope), AuditEvent.source_ip.is_not(None))))
    found += [(recruiter, "address", address, n)
              for (recruiter, address), n in per_address.items() if n >= min_address]
    return [(recruiter_name(recruiter), what, value, n)
            for recruiter, what, value, n in sorted(found, key=lambda row: -row[3])]


def recruiter_name(recruiter: str) -> str:
    """'staff:12' as the staff user's name, 'member:34' as a membership number."""
    from backoffice.services.membership_numbers import format_membership_no

    kind, _sep, rid = recruiter.partition(":")
    if not rid.isdigit():
        return ""
    if kind == "staff":
        return db.session.scalar(select(StaffUser.full_name).where(
            StaffUser.id == int(rid))) or ""
    return format_membership_no(int(rid))


def _recruiter_of(details) -> str:
    import json

    try:
        return json.loads(details).get("recruiter", "")
    except (TypeError, ValueError):
        return ""
