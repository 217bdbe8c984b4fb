"""Delegated administration and every escalation attempt we could think of."""

import pytest

from backoffice.extensions import db
from backoffice.models import RoleAssignment
from backoffice.services import staff as staff_service
from backoffice.services.errors import ServiceError, ValidationError
from tests import factories


@pytest.mark.parametrize(
    ("who", "role", "unit", "allowed"),
    [
        ("district", "block_president", "BLK-MASTURI", True),
        ("district", "enroller", "ZONE-BILHA-1", True),
        ("district", "district_president", "DIST-BILASPUR", False),  # own level
        ("district", "state_admin", "CG", False),  # above
        ("district", "block_president", "BLK-MUNGELI", False),  # another district
        ("district", "enroller", "DIST-BILASPUR", False),  # enrollers sit at blocks/zones
        ("district", "returning_officer", "DIST-BILASPUR", False),
        ("bilha", "enroller", "BLK-BILHA", True),
        ("bilha", "enroller", "ZONE-BILHA-1", True),
        ("bilha", "enroller", "BLK-MASTURI", False),
        ("bilha", "block_president", "BLK-BILHA", False),
        ("enroller", "enroller", "BLK-BILHA", False),
        ("division", "block_president", "BLK-BILHA", False),  # watches, appoints nobody
        ("ro", "enroller", "BLK-BILHA", False),
        ("state", "returning_officer", "DIST-BILASPUR", True),
        ("state", "state_admin", "CG", False),  # state admins are made on the CLI
    ],
)
def test_who_may_grant_what_where(ctx, units, staff, who, role, unit, allowed):
    target = factories.StaffFactory()
    if allowed:
        assert staff_service.assign_role(staff[who], target, role, units[unit]).id
    else:
        with pytest.raises(ServiceError):
            staff_service.assign_role(staff[who], target, role, units[unit])


def test_nobody_edits_their_own_roles(ctx, units, staff):
    with pytest.raises(ServiceError, match="own roles"):
        staff_service.assign_role(staff["state"], staff["state"], "district_president",
                                  units["DIST-RAIPUR"])
    own = staff["bilha"].roles[0]
    with pytest.raises(ServiceError, match="own roles"):
        staff_service.remove_role(staff["bilha"], own)


def test_removing_a_role_needs_the_right_to_grant_it(ctx, units, staff):
    enroller_role = staff["enroller"].roles[0]
    with pytest.raises(ServiceError):
        staff_service.remove_role(staff["masturi"], enroller_role)
    staff_service.remove_role(staff["bilha"], enroller_role)
    assert db.session.get(RoleAssignment, enroller_role.id) is None


def test_a_block_president_cannot_remove_the_district_head(ctx, staff):
    with pytest.raises(ServiceError):
        staff_service.remove_role(staff["bilha"], staff["district"].roles[0])


def test_create_staff_checks_login_and_password_before_writing(ctx, units, staff):
    actor, unit = staff["bilha"], units["BLK-BILHA"]
    with pytest.raises(ValidationError, match="email or a mobile"):
        staff_service.create_staff(actor, full_name="Ramesh", email="", mobile="",
                                   password="long enough pw", role="enroller", unit=unit)
    with pytest.raises(ValidationError, match="at least 10"):
        staff_service.create_staff(actor, full_name="Ramesh", email="r@x.test", mobile="",
                                   password="short", role="enroller", unit=unit)
    with pytest.raises(ValidationError, match="already used"):
        staff_service.create_staff(actor, full_name="Ramesh", email=staff["masturi"].email,
                                   mobile="", password="long enough pw", role="enroller",
                                   unit=unit)
    user = staff_service.create_staff(actor, full_name=" रमेश  साहू ", email="R@X.test",
                                      mobile="098123 45670", password="long enough pw",
                                      role="enroller", unit=unit)
    assert (user.full_name, user.email, user.mobile) == ("रमेश साहू", "r@x.test",
                                                         "+919812345670")
    assert [(r.role, r.unit_id, r.created_by_id) for r in user.roles] == [
        ("enroller", unit.id, actor.id)]


def test_create_staff_refuses_a_role_above_the_creator(ctx, units, staff):
    with pytest.raises(ServiceError):
        staff_service.create_staff(staff["bilha"], full_name="X", email="x@x.test", mobile="",
                                   password="long enough pw", role="district_president",
                                   unit=units["DIST-BILASPUR"])
    assert RoleAssignment  # the table is untouched: nothing was flushed before the check
