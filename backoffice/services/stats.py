"""Counts for dashboards, from the trigger-kept tallies (never count(*) over members)."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from backoffice.auth.scoping import grants_for
from backoffice.extensions import db
from backoffice.models import STATUSES, Member, MemberTally, Unit


def status_counts(user, permission: str) -> dict[str, int]:
    """Members per status in the user's units for ``permission``.

    Whole blocks come from member_tally (a few hundred rows at most, whatever
    the number of members); zones, which the tallies do not split, are
    counted directly, as a zone holds a few thousand members at most.
    """
    counts = dict.fromkeys(STATUSES, 0)
    grants = grants_for(user, permission)
    wide = [grant for grant in grants if grant.level != "zone"]
    if wide:
        rows = db.session.execute(
            select(MemberTally.status, func.sum(MemberTally.n))
            .join(Unit, Unit.id == MemberTally.block_id)
            .where(or_(*(Unit.path.startswith(grant.path) for grant in wide)))
            .group_by(MemberTally.status))
        for status, n in rows:
            counts[status] += int(n or 0)
    zones = [grant.unit_id for grant in grants if grant.level == "zone"
             and not any(grant.path.startswith(other.path) for other in wide)]
    if zones:
        rows = db.session.execute(
            select(Member.status, func.count()).where(Member.zone_id.in_(zones))
            .group_by(Member.status))
        for status, n in rows:
            counts[status] += n
    return counts
