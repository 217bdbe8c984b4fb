"""What district heads audit for, the frauds seen in real drives (docs/audit-log.md):
bulk signups by one enroller, bursts at odd hours, one phone behind many members,
voter IDs entered twice, runs of consecutive phone numbers, one photo on several
members, OTP outcomes per enroller, and one person recorded twice, perhaps once in
Devanagari and once in Latin letters. Report lines name members by their number,
linked where the viewer may open them, never by a hash.

Every query is scoped to the viewer's units and bounded by a date window, so
it reads one district's members (tens of thousands), never the whole table.
Times are bucketed in IST, the hours the enrollers keep.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Integer, and_, case, cast, func, literal_column, select

from backoffice import audit
from backoffice.auth.roles import AUDIT_VIEW
from backoffice.auth.scoping import member_filter, unit_filter
from backoffice.extensions import db
from backoffice.models import AuditEvent, Member, PhoneVerification, StaffUser, Unit

IST_MINUTES = 330
PICTURE_HASH = re.compile(r"[0-9a-f]{16}")  # services/photos.picture_hash


@dataclass(frozen=True)
class Window:
    since: datetime  # naive UTC
    until: datetime

    @classmethod
    def last_days(cls, days: int, now: datetime) -> Window:
        return cls(now - timedelta(days=days), now)


def _ist(column, pattern: str):
    """A text bucket of a UTC timestamp in IST: pattern in strftime terms."""
    if db.session.get_bind().dialect.name == "postgresql":
        pg = pattern.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD").replace(
            "%H", "HH24")
        return func.to_char(column + literal_column(f"interval '{IST_MINUTES} minutes'"), pg)
    return func.strftime(pattern, column, f"+{IST_MINUTES} minutes")


def _scope(user, window: Window, permission: str = AUDIT_VIEW):
    return and_(member_filter(user, permission), Member.created_at >= window.since,
                Member.created_at < window.until)


def signups_per_enroller(user, window: Window, *, by: str = "day", limit: int = 200,
                         permission: str = AUDIT_VIEW):
    """(enroller id, name, IST bucket, signups), busiest first; by "week": one row each."""
    patterns = {"day": "%Y-%m-%d", "hour": "%Y-%m-%d %H:00"}
    if by == "week":  # the whole window in one bucket: a leaderboard
        bucket = _ist(func.min(Member.created_at), "%Y-%m-%d")  # formatted once per enroller
        count = func.count().label("signups")
        return db.session.execute(
            select(Member.recorded_by_id, StaffUser.full_name, bucket.label("bucket"), count)
            .join(StaffUser, StaffUser.id == Member.recorded_by_id)
            .where(_scope(user, window, permission))
            .group_by(Member.recorded_by_id, StaffUser.full_name)
            .order_by(count.desc()).limit(limit)).all()
    bucket = _ist(Member.created_at, patterns[by])
    count = func.count().label("signups")
    return db.session.execute(
        select(Member.recorded_by_id, StaffUser.full_name, bucket.label("bucket"), count)
        .join(StaffUser, StaffUser.id == Member.recorded_by_id)
        .where(_scope(user, window, permission))
        .group_by(Member.recorded_by_id, StaffUser.full_name, bucket)
        .order_by(count.desc()).limit(limit)).all()


def odd_hour_bursts(user, window: Window, *, min_signups: int, night=(23, 5)):
    """Enroller-hours at night (IST) with at least ``min_signups`` signups."""
    hour = cast(_ist(Member.created_at, "%H"), Integer)
    bucket = _ist(Member.created_at, "%Y-%m-%d %H:00")
    count = func.count().label("signups")
    start, end = night
    return db.session.execute(
        select(Member.recorded_by_id, StaffUser.full_name, bucket.label("bucket"), count)
        .join(StaffUser, StaffUser.id == Member.recorded_by_id)
        .where(_scope(user, window), (hour >= start) | (hour < end))
        .group_by(Member.recorded_by_id, StaffUser.full_name, bucket)
        .having(func.count() >= min_signups).order_by(count.desc())).all()


def shared_phones(user, window: Window, *, min_members: int):
    """Phones behind at least ``min_members`` members recorded in the window."""
    count = func.count().label("members")
    return db.session.execute(
        select(Member.mobile, count, func.count(func.distinct(Member.recorded_by_id))
               .label("enrollers"))
        .where(_scope(user, window)).group_by(Member.mobile)
        .having(func.count() >= min_members).order_by(count.desc()).limit(200)).all()


def consecutive_phone_runs(user, window: Window, *, min_run: int):
    """Runs of consecutive mobile numbers (…01, …02, …03), a sign of made-up members.

    Gaps and islands: number minus its rank is constant along a run.
    """
    number = cast(func.substr(Member.mobile, 4), Integer if _sqlite() else BigInteger)
    ranked = (select(Member.mobile, number.label("n"),
                     (number - func.dense_rank().over(order_by=number)).label("island"),
                     Member.recorded_by_id)
              .where(_scope(user, window)).subquery())
    length = func.count(func.distinct(ranked.c.n)).label("length")
    return db.session.execute(
        select(func.min(ranked.c.mobile).label("first"), func.max(ranked.c.mobile).label("last"),
               length, func.count(func.distinct(ranked.c.recorded_by_id)).label("enrollers"))
        .group_by(ranked.c.island)
        .having(func.count(func.distinct(ranked.c.n)) >= min_run)
        .order_by(length.desc()).limit(100)).all()


def _sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


@dataclass
class EpicAttempt:
    holder_id: int | None  # the member holding the voter ID; None: no longer registered
    in_scope: bool  # the viewer may open the holder
    tried_by: str | None  # the staff member's name; None: self-enrolment
    occurred_at: str


def epic_duplicate_attempts(user, window: Window, *, limit: int = 200) -> list[EpicAttempt]:
    """Voter IDs someone tried to enter again (refused), each with the member who holds
    it. Events record the holder's id; older ones only the voter ID's HMAC, matched
    against the members in scope (_holders_by_hmac)."""
    units = select(Unit.id).where(unit_filter(user, AUDIT_VIEW))
    rows = db.session.execute(
        select(AuditEvent.details, StaffUser.full_name, AuditEvent.occurred_at)
        .join(StaffUser, StaffUser.id == AuditEvent.actor_user_id, isouter=True)
        .where(AuditEvent.action == "member.epic_taken",
               AuditEvent.occurred_at >= window.since.isoformat(),
               AuditEvent.unit_id.in_(units))
        .order_by(AuditEvent.seq.desc()).limit(limit)).all()
    details = [json.loads(row.details or "{}") for row in rows]
    by_hmac = _holders_by_hmac(user, {d.get("epic") for d in details
                                      if "member" not in d and d.get("epic")})
    holders = [d["member"] if "member" in d else by_hmac.get(d.get("epic")) for d in details]
    known = {h for h in holders if h is not None}
    visible = set(db.session.scalars(select(Member.id).where(
        Member.id.in_(known), member_filter(user, AUDIT_VIEW)))) if known else set()
    return [EpicAttempt(holder, holder in visible, row.full_name, row.occurred_at)
            for holder, row in zip(holders, rows, strict=True)]


def _holders_by_hmac(user, wanted: set[str]) -> dict[str, int]:
    """Events written before they named the holder: the members in scope whose voter
    ID has one of these HMACs (computed per member, streamed; only while such events
    are in the window)."""
    found: dict[str, int] = {}
    if not wanted:
        return found
    rows = db.session.execute(
        select(Member.id, Member.epic)
        .where(member_filter(user, AUDIT_VIEW), Member.epic.is_not(None))
        .execution_options(yield_per=5000))
    for member_id, epic in rows:
        digest = audit.pii("epic", epic)
        if digest in wanted:
            found[digest] = member_id
            if len(found) == len(wanted):
                break
    rows.close()
    return found


def otp_outcomes(user, window: Window, *, limit: int = 200):
    """Per enroller: members recorded, verified, rejected or revoked, codes and wrong checks."""
    members = (select(
        Member.recorded_by_id.label("enroller"), func.count().label("recorded"),
        func.count(Member.verified_at).label("verified"),
        func.sum(case((Member.status.in_(("rejected", "revoked")), 1), else_=0))
        .label("rejected"))
        .where(_scope(user, window)).group_by(Member.recorded_by_id).subquery())
    codes = (select(
        PhoneVerification.sent_by_id.label("enroller"),
        func.sum(PhoneVerification.sends).label("sends"),
        func.sum(PhoneVerification.checks).label("checks"),
        func.sum(case((PhoneVerification.status == "approved", 1), else_=0)).label("approved"))
        .join(Member, Member.id == PhoneVerification.member_id)
        .where(_scope(user, window)).group_by(PhoneVerification.sent_by_id).subquery())
    return db.session.execute(
        select(members.c.enroller, StaffUser.full_name, members.c.recorded, members.c.verified,
               members.c.rejected, func.coalesce(codes.c.sends, 0).label("sends"),
               (func.coalesce(codes.c.checks, 0) - func.coalesce(codes.c.approved, 0))
               .label("wrong_checks"))
        .join(StaffUser, StaffUser.id == members.c.enroller)
        .join(codes, codes.c.enroller == members.c.enroller, isouter=True)
        .order_by(members.c.recorded.desc()).limit(limit)).all()


@dataclass
class ReusedPhoto:
    picture_hash: str
    members: int
    enrollers: int
    first: list = field(default_factory=list)  # (id, photo_sha256) of the first few


def reused_photos(user, window: Window, *, shown: int = 10,
                  limit: int = 100) -> list[ReusedPhoto]:
    """Pictures on two or more members in scope, at least one of them recorded in
    the window: the same picture hash, so a re-encoded or resized copy counts too.

    The others may be older: a photo reused across weeks is still one photo.
    Members outside the viewer's units are neither counted nor named."""
    recent = (select(Member.photo_phash)
              .where(_scope(user, window), Member.photo_phash.is_not(None)))
    count = func.count().label("members")
    rows = db.session.execute(
        select(Member.photo_phash, count,
               func.count(func.distinct(Member.recorded_by_id)).label("enrollers"))
        .where(member_filter(user, AUDIT_VIEW), Member.photo_phash.in_(recent))
        .group_by(Member.photo_phash).having(func.count() >= 2)
        .order_by(count.desc(), Member.photo_phash).limit(limit)).all()
    found = {row.photo_phash: ReusedPhoto(row.photo_phash, row.members, row.enrollers)
             for row in rows}
    if found:
        rank = func.row_number().over(partition_by=Member.photo_phash, order_by=Member.id)
        ranked = (select(Member.id, Member.photo_phash, Member.photo_sha256,
                         rank.label("rank"))
                  .where(member_filter(user, AUDIT_VIEW), Member.photo_phash.in_(list(found)))
                  .subquery())
        for row in db.session.execute(select(ranked).where(ranked.c.rank <= shown)
                                      .order_by(ranked.c.id)):
            found[row.photo_phash].first.append(row)
    return list(found.values())


def members_for(user, window: Window, *, enroller_id: int | None = None,
                mobile: str | None = None, photo: str | None = None, limit: int = 500):
    """The drill-down: the members behind a report row, within scope.

    A photo's members are all those in scope, like its report line, not only
    the window's."""
    if photo:
        if not PICTURE_HASH.fullmatch(photo):
            return []  # no photo has such a hash (and PostgreSQL refuses a NUL in it)
        query = select(Member).where(member_filter(user, AUDIT_VIEW),
                                     Member.photo_phash == photo)
        return db.session.scalars(query.order_by(Member.created_at).limit(limit)).all()
    query = select(Member).where(_scope(user, window))
    if enroller_id is not None:
        query = query.where(Member.recorded_by_id == enroller_id)
    if mobile:
        query = query.where(Member.mobile == mobile)
    return db.session.scalars(query.order_by(Member.created_at).limit(limit)).all()


@dataclass
class DuplicateGroup:
    """Members who may be one person: the same name, relative's name and birth year once
    both are read as phonetic keys (backoffice/phonetic.py), whatever the script."""
    members: list = field(default_factory=list)  # rows (id, full_name, relative_name,
    #                                               date_of_birth, block_id, created_at)
    outside: int = 0  # members of the group in units the viewer cannot see


def possible_duplicates(user, window: Window, *, limit: int = 200) -> list[DuplicateGroup]:
    """The members flagged as possible duplicates in the window (services/search.py:
    an event on each member of a pair, in its block), grouped by their current key, so
    a pair since corrected or erased drops out. Reading the flags, not comparing
    every member's key, keeps the report a few indexed reads at a million members."""
    units = select(Unit.id).where(unit_filter(user, AUDIT_VIEW))
    flags = db.session.execute(
        select(AuditEvent.entity_id, AuditEvent.details)
        .where(AuditEvent.action == "member.possible_duplicate",
               AuditEvent.occurred_at >= window.since.isoformat(),
               AuditEvent.unit_id.in_(units))
        .order_by(AuditEvent.seq.desc()).limit(limit)).all()
    ids = {member_id for member_id, _details in flags}
    for _member_id, details in flags:
        ids.update(json.loads(details or "{}").get("others", []))
    if not ids:
        return []
    in_scope = member_filter(user, AUDIT_VIEW)
    rows = {row.id: row for row in db.session.execute(
        select(Member.id, Member.duplicate_key, Member.full_name, Member.relative_name,
               Member.date_of_birth, Member.block_id, Member.created_at,
               in_scope.label("in_scope"))
        .where(Member.id.in_(sorted(ids))))}
    groups: dict[str, set[int]] = {}
    for member_id, details in flags:
        flagged = rows.get(member_id)
        if flagged is None or flagged.duplicate_key is None:
            continue
        same = {other for other in json.loads(details or "{}").get("others", [])
                if other in rows and rows[other].duplicate_key == flagged.duplicate_key}
        if same:
            groups.setdefault(flagged.duplicate_key, set()).update(same | {member_id})
    found = []
    for members in groups.values():
        group = DuplicateGroup()
        for member_id in sorted(members):
            if rows[member_id].in_scope:
                group.members.append(rows[member_id])
            else:
                group.outside += 1
        if group.members:
            found.append(group)
    return sorted(found, key=lambda g: -g.members[-1].id)
