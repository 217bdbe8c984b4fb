import pytest
from sqlalchemy import func, select

from backoffice.auth.roles import MEMBER_VIEW
from backoffice.auth.scoping import forget_grants, member_filter
from backoffice.extensions import db
from backoffice.models import Member, Unit
from backoffice.services import units as unit_service
from backoffice.services.errors import ServiceError
from tests import factories


def count_for(user) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Member).where(member_filter(user, MEMBER_VIEW))
    )


def test_shipped_hierarchy_has_every_division_district_and_bilaspur_block(units):
    levels = dict(db.session.execute(
        select(Unit.level, func.count()).group_by(Unit.level)).all())
    assert levels == {"state": 1, "division": 5, "district": 33, "block": 34, "zone": 1}
    bilha = units["BLK-BILHA"]
    assert bilha.name_hi == "बिल्हा"
    path_codes = [db.session.get(Unit, i).code for i in bilha.ancestor_ids]
    assert path_codes == ["CG", "DIV-BILASPUR", "DIST-BILASPUR", "BLK-BILHA"]


def test_loading_twice_changes_nothing(units):
    before = db.session.scalar(select(func.count()).select_from(Unit))
    unit_service.load_units(unit_service.read_units_csv())
    assert db.session.scalar(select(func.count()).select_from(Unit)) == before


def test_moving_a_block_to_another_district_moves_its_members_scope(app, units, staff):
    """A district split: Bilha goes to Mungeli, and its members with it."""
    with app.test_request_context():
        for _ in range(3):
            factories.member(units["BLK-BILHA"], zone=units["ZONE-BILHA-1"])
        factories.member(units["BLK-MASTURI"])
        mungeli_head = factories.staff_with_role("district_president", units["DIST-MUNGELI"])
        assert count_for(staff["district"]) == 4
        assert count_for(mungeli_head) == 0

        moved = unit_service.move_unit(units["BLK-BILHA"], units["DIST-MUNGELI"])
        db.session.flush()

        assert moved == 3
        forget_grants()
        assert count_for(staff["district"]) == 1
        assert count_for(mungeli_head) == 3
        assert count_for(staff["bilha"]) == 3  # the block president keeps the block
        zone = db.session.get(Unit, units["ZONE-BILHA-1"].id)
        assert zone.path.startswith(db.session.get(Unit, units["DIST-MUNGELI"].id).path)
        bilha_members = select(Member).where(Member.block_id == units["BLK-BILHA"].id)
        member = db.session.scalars(bilha_members).first()
        assert member.district_id == units["DIST-MUNGELI"].id
        assert member.division_id == units["DIV-BILASPUR"].id


def test_a_district_moves_with_its_members_to_another_division(app, units):
    with app.test_request_context():
        factories.member(units["BLK-KORBA"])
        unit_service.move_unit(units["DIST-KORBA"], units["DIV-SURGUJA"])
        member = db.session.scalars(select(Member)).one()
        assert member.division_id == units["DIV-SURGUJA"].id
        assert member.district_id == units["DIST-KORBA"].id


def test_a_unit_cannot_move_to_the_wrong_level_or_under_itself(units):
    with pytest.raises(ServiceError):
        unit_service.move_unit(units["BLK-BILHA"], units["DIV-RAIPUR"])
    with pytest.raises(ServiceError):
        unit_service.move_unit(units["ZONE-BILHA-1"], units["ZONE-BILHA-1"])
