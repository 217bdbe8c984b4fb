"""The member search: what a typed term finds, as one SQL condition.

A term is, in this order:
- a membership number, whole (CG000012345 with its check digit, prefix optional)
  or in part: the digits without the prefix and the leading zeros, with or without
  the check digit (12345 or 123455 find member 12345);
- a full mobile number, or its last 4 to 9 digits, only for staff who see phones
  unmasked, and only among the members whose phones they see;
- a voter ID (EPIC);
- otherwise words of a name: every word typed must begin a word of the member's
  name, compared as phonetic keys (backoffice/phonetic.py), so "बघेल", "baghel" and
  "Bagh" find कमला बघेल and Kamla Baghel alike. A word is read both as a whole word
  and as one still being typed ("Ver" begins Verma, whose key drops that e).

And the members who may be one person recorded twice, perhaps in two scripts: the
same duplicate key (name, relative's name, birth year: backoffice/phonetic.py).
A signup, a /join and a paper import are flagged, never refused, by an audit
event ``member.possible_duplicate`` naming the other members by id; the member's
page and the audit reports list them.

The name words are matched as ``search_key LIKE '% bgel%'``: on PostgreSQL a
trigram index (pg_trgm, migration 0015) answers it, the mobile's tail a btree on the
reversed number;
on SQLite it is a scan of the viewer's rows (docs/search.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import ColumnElement, and_, false, func, or_, select
from stdnum import verhoeff

from backoffice import audit, phonetic
from backoffice.auth.roles import MEMBER_VIEW, MEMBER_VIEW_PII
from backoffice.auth.scoping import grants_for, has_permission, member_filter
from backoffice.extensions import db
from backoffice.models import Member
from backoffice.services.errors import ValidationError
from backoffice.services.membership_numbers import parse_membership_no
from backoffice.services.validation import normalise_epic, normalise_mobile

MAX_TERM = 150
DUPLICATE_EVENT = "member.possible_duplicate"
#: other members named per flag and per member page: a handful is a duplicate, more a
#: common name the key cannot tell apart
DUPLICATES_SHOWN = 20
#: a mobile's tail is searched from this many digits: fewer match too many phones
PHONE_TAIL_MIN = 4
_ID_DIGITS = 9  # 8 digits of the id and the check digit
_SEPARATORS = re.compile(r"[\s\-/.]+")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _number_ids(digits: str) -> list[int]:
    """Member ids a run of digits may stand for: the id itself, or the id followed by
    its check digit (leading zeros dropped either way)."""
    ids = set()
    if len(digits) <= _ID_DIGITS:
        if int(digits):
            ids.add(int(digits))
        # The check digit is over the 8 padded digits: leading zeros change it.
        if len(digits) >= 2 and verhoeff.is_valid(digits.zfill(_ID_DIGITS)) \
                and int(digits[:-1]):
            ids.add(int(digits[:-1]))
    return sorted(key for key in ids if key < 2**31)


def _digits(term: str) -> str | None:
    """The digits of a term that is a number (with the prefix, spaces, dashes), or None."""
    compact = _SEPARATORS.sub("", term).upper()
    prefix = current_app.config["MEMBERSHIP_PREFIX"]
    if compact.startswith(prefix):
        compact = compact[len(prefix):]
    if compact.startswith("+"):
        compact = compact[1:]
    return compact if compact.isascii() and compact.isdigit() else None


def _exact(term: str) -> list[ColumnElement[bool]]:
    found = []
    try:
        found.append(Member.mobile == normalise_mobile(term))
    except ValidationError:
        pass
    try:
        epic = normalise_epic(term)
        if epic:
            found.append(Member.epic == epic)
    except ValidationError:
        pass
    return found


def _by_digits(user, digits: str) -> list[ColumnElement[bool]]:
    found = [Member.id.in_(_number_ids(digits))] if _number_ids(digits) else []
    if PHONE_TAIL_MIN <= len(digits) < 10 and has_permission(user, MEMBER_VIEW_PII):
        # Only where the user sees phones unmasked: the tail would tell a masked phone.
        tail = (func.reverse(Member.mobile).like(f"{digits[::-1]}%")
                if db.session.get_bind().dialect.name == "postgresql"  # its btree (0015)
                else Member.mobile.like(f"%{digits}"))
        if set(grants_for(user, MEMBER_VIEW_PII)) != set(grants_for(user, MEMBER_VIEW)):
            tail = and_(tail, member_filter(user, MEMBER_VIEW_PII))
        # (else the list's own scope says it: repeating it misleads PostgreSQL's planner)
        found.append(tail)
    return found


def _by_name(term: str) -> ColumnElement[bool] | None:
    words = phonetic.typed_words(term)
    if not words:
        return None
    return and_(*(or_(*(Member.search_key.like(f"% {_like_escape(key)}%", escape="\\")
                        for key in keys))
                  for keys in words))


def member_search(user, search: str) -> ColumnElement[bool]:
    """The condition selecting the members a search term finds (the caller scopes it)."""
    term = " ".join((search or "").split())[:MAX_TERM]
    if not term:
        return false()
    member_id = parse_membership_no(term)
    if member_id is not None:
        return Member.id == member_id
    found = _exact(term)
    digits = _digits(term)
    if digits:
        found += _by_digits(user, digits)
    elif not found:
        by_name = _by_name(term)
        if by_name is not None:
            found.append(by_name)
    return or_(*found) if found else false()


def sees_phone_tails(user) -> bool:
    """Whether a search by the last digits of a mobile is open to the user."""
    return has_permission(user, MEMBER_VIEW_PII)


# --- the same person recorded twice ------------------------------------------------------

def _others(member_id: int, key: str | None) -> list[tuple[int, int]]:
    """(id, block id) of the other members with this duplicate key, oldest first."""
    if not key:
        return []
    return [tuple(row) for row in db.session.execute(
        select(Member.id, Member.block_id).where(Member.duplicate_key == key,
                                                 Member.id != member_id)
        .order_by(Member.id).limit(DUPLICATES_SHOWN))]


def _flag(member_id: int, block_id: int, others: list[tuple[int, int]], actor,
          flagged_too=frozenset()) -> None:
    """One event on the new member naming the others, and one on each of them naming
    the new member: each district's report (read from these events, scoped by their
    unit) then shows the pair, whichever side it holds."""
    audit.record(DUPLICATE_EVENT, entity_type="member", entity_id=member_id,
                 unit_id=block_id, actor=actor,
                 details={"others": [other for other, _block in others]})
    for other, other_block in others:
        if other in flagged_too:  # its own event names this member already
            continue
        audit.record(DUPLICATE_EVENT, entity_type="member", entity_id=other,
                     unit_id=other_block, actor=actor, details={"others": [member_id]})


def flag_duplicates(member: Member, actor=None) -> list[int]:
    """After a member is recorded (and flushed): the ids of members who may be the same
    person, the pair flagged by audit events (the signup stands)."""
    others = _others(member.id, member.duplicate_key)
    if others:
        _flag(member.id, member.block_id, others, actor)
    return [other for other, _block in others]


def flag_batch_duplicates(batch_id: int, actor) -> int:
    """The same for a paper import's members, once the batch is inserted. Linear in the
    members sharing the batch's keys: at most DUPLICATES_SHOWN + 1 are read per key (a
    file of 20,000 identical forms must not join 20,000 rows with 20,000)."""
    keys = select(Member.duplicate_key).where(Member.import_batch_id == batch_id,
                                              Member.duplicate_key.is_not(None))
    rank = func.row_number().over(partition_by=Member.duplicate_key, order_by=Member.id)
    ranked = (select(Member.id, Member.block_id, Member.duplicate_key, rank.label("rank"))
              .where(Member.duplicate_key.in_(keys)).subquery())
    listed: dict[str, list[tuple[int, int]]] = {}
    for row in db.session.execute(select(ranked.c.id, ranked.c.block_id,
                                         ranked.c.duplicate_key)
                                  .where(ranked.c.rank <= DUPLICATES_SHOWN + 1)
                                  .order_by(ranked.c.id)):
        listed.setdefault(row.duplicate_key, []).append((row.id, row.block_id))
    shared = [key for key, members in listed.items() if len(members) > 1]
    if not shared:
        return 0
    found = {}
    for start in range(0, len(shared), 500):
        for member_id, block_id, key in db.session.execute(
                select(Member.id, Member.block_id, Member.duplicate_key)
                .where(Member.import_batch_id == batch_id,
                       Member.duplicate_key.in_(shared[start:start + 500]))):
            found[member_id] = (block_id, [(other, block) for other, block in listed[key]
                                           if other != member_id][:DUPLICATES_SHOWN])
    for member_id, (block_id, others) in sorted(found.items()):
        _flag(member_id, block_id, others, actor, flagged_too=found.keys())
    return len(found)


@dataclass(frozen=True)
class Duplicate:
    member_id: int
    in_scope: bool  # False: named to the viewer only as "outside your units"


def duplicates_for(user, member: Member) -> list[Duplicate]:
    """For the member's page: who may be the same person, those the user may open."""
    others = [other for other, _block in _others(member.id, member.duplicate_key)]
    if not others:
        return []
    visible = set(db.session.scalars(select(Member.id).where(
        Member.id.in_(others), member_filter(user, MEMBER_VIEW))))
    return [Duplicate(other, other in visible) for other in others]
