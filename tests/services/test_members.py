"""Recording and correcting members: the rules of a digital signup."""

from datetime import date

import pytest

from backoffice.extensions import db
from backoffice.models import Member
from backoffice.services import members as member_service
from backoffice.services import workflow
from backoffice.services.errors import NotFound, ValidationError
from tests import factories


def data(units, **overrides) -> member_service.MemberInput:
    values = dict(full_name=" सुनीता  साहू ", relative_name="रामलाल साहू", relation="father",
                  gender="female", date_of_birth=date(1990, 5, 17), mobile="098765 43210",
                  epic="cga 1234567", address="ग्राम बिल्हा", booth_no="12a",
                  block_id=units["BLK-BILHA"].id, zone_id=None, fee_receipt_no="R-1")
    return member_service.MemberInput(**(values | overrides))


def test_enroller_records_a_clean_member_in_the_block(ctx, units, staff):
    member = member_service.record(staff["enroller"], data(units), channel="enroller",
                                   notice_version="2026-11")
    assert (member.full_name, member.mobile, member.epic, member.booth_no) == (
        "सुनीता साहू", "+919876543210", "CGA1234567", "12A")
    assert (member.block_id, member.district_id, member.division_id) == (
        units["BLK-BILHA"].id, units["DIST-BILASPUR"].id, units["DIV-BILASPUR"].id)
    assert member.status == "recorded" and member.recorded_by_id == staff["enroller"].id
    assert member.consent_notice_version == "2026-11" and member.consent_at


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"block_id": "masturi"}, "block_id"),
        ({"block_id": "district"}, "block_id"),
        ({"block_id": None}, "block_id"),
        ({"zone_id": "other_zone"}, "zone_id"),
        ({"mobile": "1800 180 1551"}, "mobile"),
        ({"epic": "12345"}, "epic"),
        ({"date_of_birth": date(2015, 1, 1)}, "date_of_birth"),
        ({"full_name": "   "}, "full_name"),
        ({"relation": "uncle"}, "relation"),
        ({"booth_no": "12; DROP"}, "booth_no"),
    ],
)
def test_bad_input_is_refused_naming_the_field(ctx, units, staff, overrides, field):
    lookup = {"masturi": units["BLK-MASTURI"].id, "district": units["DIST-BILASPUR"].id}
    if "zone_id" in overrides:
        other = factories.member  # noqa: F841 - a zone of another block:
        from backoffice.services.units import create_unit

        overrides = {"zone_id": create_unit(level="zone", code="Z-M", name_en="Masturi zone",
                                            name_hi="मस्तूरी ज़ोन",
                                            parent=units["BLK-MASTURI"]).id}
    overrides = {k: lookup.get(v, v) if isinstance(v, str) and k == "block_id" else v
                 for k, v in overrides.items()}
    with pytest.raises(ValidationError) as error:
        member_service.record(staff["enroller"], data(units, **overrides), channel="enroller",
                              notice_version="2026-11")
    assert error.value.field == field


def test_consent_is_required(ctx, units, staff):
    with pytest.raises(ValidationError, match="privacy notice"):
        member_service.record(staff["enroller"], data(units), channel="enroller",
                              notice_version=None)


def test_zone_enroller_records_only_in_their_zone(ctx, units, staff):
    zone = units["ZONE-BILHA-1"]
    with pytest.raises(ValidationError):
        member_service.record(staff["zone_enroller"], data(units), channel="enroller",
                              notice_version="v")
    member = member_service.record(staff["zone_enroller"], data(units, zone_id=zone.id),
                                   channel="enroller", notice_version="v")
    assert member.zone_id == zone.id


def test_epic_is_unique_without_saying_where_it_is(ctx, units, staff):
    factories.member(units["BLK-MASTURI"], epic="CGA1234567", full_name="Someone Else")
    with pytest.raises(ValidationError) as error:
        member_service.record(staff["enroller"], data(units), channel="enroller",
                              notice_version="v")
    assert error.value.field == "epic"
    assert "Masturi" not in str(error.value.message) and "Someone" not in str(error.value.message)


def test_one_phone_serves_at_most_the_configured_members(ctx, app, units, staff):
    app.config["MAX_MEMBERS_PER_PHONE"] = 2
    for n in range(2):
        factories.member(units["BLK-BILHA"], mobile="+919876543210", epic=f"FAM000000{n}")
    with pytest.raises(ValidationError, match="already has 2 members") as error:
        member_service.record(staff["enroller"], data(units), channel="enroller",
                              notice_version="v")
    assert error.value.field == "mobile"


def test_changing_the_phone_clears_verification(ctx, units, staff):
    member = member_service.record(staff["enroller"], data(units), channel="enroller",
                                   notice_version="v")
    workflow.apply(staff["enroller"], "verify_phone", [member.id])
    db.session.refresh(member)
    assert member.status == "phone_verified" and member.verified_at
    member_service.update(staff["enroller"], member.id, data(units, mobile="9812345678"))
    member = db.session.get(Member, member.id)
    assert member.status == "recorded" and member.verified_at is None
    member_service.update(staff["enroller"], member.id, data(units, mobile="9812345678",
                                                              address="नया पता"))
    assert db.session.get(Member, member.id).address == "नया पता"


def test_edits_are_scoped_and_respect_the_members_state(ctx, units, staff):
    masturi = factories.member(units["BLK-MASTURI"])
    with pytest.raises(NotFound):
        member_service.update(staff["enroller"], masturi.id, data(units))
    approved = factories.member(units["BLK-BILHA"], status="approved", epic="APP0000001")
    with pytest.raises(ValidationError, match="block president"):
        member_service.update(staff["enroller"], approved.id, data(units, epic="APP0000001"))
    member_service.update(staff["bilha"], approved.id, data(units, epic="APP0000001"))
    rejected = factories.member(units["BLK-BILHA"], status="rejected", epic="REJ0000001")
    with pytest.raises(ValidationError, match="cannot be changed"):
        member_service.update(staff["bilha"], rejected.id, data(units, epic="REJ0000001"))
    # A member cannot be moved out of the editor's units either.
    mine = factories.member(units["BLK-BILHA"], epic="MIN0000001")
    with pytest.raises(ValidationError):
        member_service.update(staff["bilha"], mine.id, data(
            units, epic="MIN0000001", block_id=units["BLK-MASTURI"].id))
