"""The member tallies the triggers keep always equal a real count, on every write path."""

from sqlalchemy import delete, func, insert, select, update

from backoffice.extensions import db
from backoffice.models import Member, MemberTally
from backoffice.services import units as unit_service
from backoffice.services import workflow
from tests import factories


def real_counts():
    return dict(((b, s), n) for b, s, n in db.session.execute(
        select(Member.block_id, Member.status, func.count()).group_by(
            Member.block_id, Member.status)))


def tallies():
    return {(t.block_id, t.status): t.n for t in db.session.scalars(select(MemberTally))
            if t.n}


def test_tallies_follow_every_kind_of_write(app, units, staff):
    with app.test_request_context():
        people = [factories.member(units["BLK-BILHA"], status="phone_verified")
                  for _ in range(3)]
        factories.member(units["BLK-MASTURI"])
        assert tallies() == real_counts()
        workflow.apply(staff["bilha"], "approve", [p.id for p in people[:2]])
        assert tallies() == real_counts()
        people[2].block_id = units["BLK-MASTURI"].id  # an ORM update of the block
        db.session.flush()
        assert tallies() == real_counts()
        rows = [{c: getattr(people[0], c) for c in ("full_name", "relative_name", "relation",
                                                    "gender", "date_of_birth", "address",
                                                    "division_id", "district_id", "block_id",
                                                    "channel", "status")}
                | {"mobile": f"+9198123400{i:02d}", "epic": f"BLK00000{i:02d}"}
                for i in range(50)]
        db.session.execute(insert(Member), rows, execution_options={"audited": True})  # bulk
        assert tallies() == real_counts()
        bulk = {"audited": True}  # these statements test the triggers, not the audit log
        db.session.execute(update(Member).where(Member.status == "approved")
                           .values(status="revoked"), execution_options=bulk)
        db.session.execute(update(Member).values(full_name="Same Status"),
                           execution_options=bulk)  # no change of status or block
        assert tallies() == real_counts()
        unit_service.move_unit(units["BLK-BILHA"], units["DIST-MUNGELI"])
        assert tallies() == real_counts()
        db.session.execute(delete(Member).where(Member.block_id == units["BLK-MASTURI"].id),
                           execution_options=bulk)
        assert tallies() == real_counts()


def test_dashboard_counts_match_a_real_count_for_every_role(app, units, staff):
    from backoffice.auth.roles import MEMBER_VIEW
    from backoffice.auth.scoping import member_filter
    from backoffice.services.stats import status_counts

    with app.test_request_context():
        for block, status in [("BLK-BILHA", "approved"), ("BLK-BILHA", "recorded"),
                              ("BLK-MASTURI", "approved"), ("BLK-KORBA", "rejected")]:
            factories.member(units[block], status=status)
        factories.member(units["BLK-BILHA"], zone=units["ZONE-BILHA-1"], status="approved")
        for who, user in staff.items():
            expected = dict.fromkeys(("recorded", "phone_verified", "approved", "rejected",
                                      "revoked"), 0)
            for status, n in db.session.execute(
                    select(Member.status, func.count()).where(member_filter(user, MEMBER_VIEW))
                    .group_by(Member.status)):
                expected[status] = n
            assert status_counts(user, MEMBER_VIEW) == expected, who
