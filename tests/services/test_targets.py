"""Targets, progress from the tallies, and the daily counts the triggers keep."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from backoffice.extensions import db
from backoffice.models import Member, MemberDaily, utcnow
from backoffice.services import targets, workflow
from backoffice.services.errors import NotFound, ValidationError
from tests import factories


def test_targets_split_down_and_never_exceed_the_parent(ctx, units, staff):
    targets.set_target(staff["state"], units["CG"], 1_000_000)
    targets.set_target(staff["state"], units["DIST-BILASPUR"], 50_000)
    targets.set_target(staff["district"], units["BLK-BILHA"], 30_000)
    with pytest.raises(ValidationError, match="add up to more"):
        targets.set_target(staff["district"], units["BLK-MASTURI"], 20_001)
    targets.set_target(staff["district"], units["BLK-MASTURI"], 20_000)
    for who, unit in (("district", "DIST-BILASPUR"), ("district", "BLK-KORBA"),
                      ("bilha", "BLK-BILHA"), ("division", "DIST-BILASPUR")):
        with pytest.raises(NotFound):
            targets.set_target(staff[who], units[unit], 1)


def test_progress_counts_members_but_not_rejected_ones(ctx, units, staff):
    targets.set_target(staff["state"], units["DIST-BILASPUR"], 10)
    for status in ("recorded", "phone_verified", "approved", "approved", "rejected"):
        factories.member(units["BLK-BILHA"], status=status)
    [item] = targets.progress([units["DIST-BILASPUR"]])
    assert (item.recorded, item.approved, item.target, item.percent) == (4, 2, 10, 40.0)
    board = targets.children_progress(units["DIST-BILASPUR"])
    assert board[0].unit.code == "BLK-BILHA" and board[0].recorded == 4


def daily_counts(event):
    db.session.flush()
    return dict(db.session.execute(select(MemberDaily.day, func.sum(MemberDaily.n)).where(
        MemberDaily.event == event).group_by(MemberDaily.day)).all())


def real_counts(column, *where):
    rows = db.session.scalars(select(column).where(column.is_not(None), *where)).all()
    days = {}
    for moment in rows:
        day = (moment + timedelta(hours=5, minutes=30)).date()
        days[day] = days.get(day, 0) + 1
    return days


def test_daily_counts_follow_inserts_verification_and_approval(ctx, units, staff):
    late_evening = datetime(2026, 11, 20, 19, 0)  # 00:30 IST on the 21st
    members = [factories.member(units["BLK-BILHA"], created_at=late_evening,
                                status="phone_verified", verified_at=late_evening)
               for _ in range(3)]
    factories.member(units["BLK-BILHA"], created_at=datetime(2026, 11, 20, 10, 0))
    assert daily_counts("recorded") == {date(2026, 11, 21): 3, date(2026, 11, 20): 1}
    workflow.apply(staff["bilha"], "approve", [m.id for m in members[:2]])
    db.session.execute(update(Member).where(Member.id == members[2].id)
                       .values(verified_at=None), execution_options={"audited": True})
    db.session.execute(update(Member).where(Member.id == members[2].id)
                       .values(verified_at=utcnow()), execution_options={"audited": True})
    assert daily_counts("recorded") == real_counts(Member.created_at)
    assert daily_counts("approved") == real_counts(Member.approved_at,
                                                   Member.status == "approved")
    assert sum(daily_counts("verified").values()) == 4  # 3 at insert + 1 re-verified
    series = targets.daily(units["DIST-BILASPUR"], days=3)
    assert len(series) == 3 and series[-1][0] == date.today()


def test_a_level_saved_at_once_may_move_members_between_units(ctx, units, staff):
    targets.set_target(staff["state"], units["CG"], 1_000_000)
    a, b = units["DIV-BILASPUR"], units["DIV-RAIPUR"]
    targets.set_targets(staff["state"], {a: 600_000, b: 400_000})
    targets.set_targets(staff["state"], {b: 600_000, a: 400_000})  # one at a time: refused
    with pytest.raises(ValidationError, match=r"\(10,00,000\)"):
        targets.set_targets(staff["state"], {a: 500_000, b: 600_000})
    with pytest.raises(ValidationError, match="add up to more"):
        targets.set_target(staff["state"], units["CG"], 900_000)  # below its divisions' sum
