"""Erasing a member's personal data at their request: what goes, what stays, who may."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backoffice import storage
from backoffice.extensions import db
from backoffice.models import AuditEvent, Member, MemberTally, PhoneVerification, RollEntry
from backoffice.services import erasure, photos, rolls
from backoffice.services.errors import NotFound, ServiceError, ValidationError
from tests import factories
from tests.factories import approved

CUT_OFF = date(2026, 11, 15)




def tally(block_id: int, status: str) -> int:
    return db.session.scalar(select(MemberTally.n).where(
        MemberTally.block_id == block_id, MemberTally.status == status)) or 0


def test_personal_data_goes_the_record_and_its_counts_stay(ctx, units, staff):
    block = units["BLK-BILHA"]
    member = approved(block, full_name="सुनीता साहू", mobile="+919812300099",
                      epic="ERS0000001", address="ग्राम बिल्हा", fee_receipt_no="R-77")
    db.session.add(PhoneVerification(member_id=member.id, phone=member.mobile,
                                     code_hash="x" * 64, gateway="memory",
                                     expires_at=datetime(2026, 11, 1)))
    db.session.flush()
    before = tally(block.id, "approved"), tally(block.id, "revoked")

    done = erasure.erase(staff["district"], member.id, "  asked in person at the office ")
    db.session.flush()

    member = db.session.get(Member, member.id)
    assert (member.full_name, member.relative_name, member.mobile, member.address) == ("",) * 4
    assert member.epic is None and member.photo_path is None
    assert member.date_of_birth == erasure.ERASED_BIRTH_DATE
    assert member.erased_at is not None
    assert (member.status, member.revoked_by_id) == ("revoked", staff["district"].id)
    assert member.status_reason == "asked in person at the office"
    assert (member.block_id, member.fee_receipt_no) == (block.id, "R-77")  # not personal
    assert db.session.scalar(select(PhoneVerification.phone).where(
        PhoneVerification.member_id == member.id)) == ""
    assert (tally(block.id, "approved"), tally(block.id, "revoked")) == (before[0] - 1,
                                                                           before[1] + 1)
    assert done.final_rolls == []
    db.session.commit()
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "member.erase", AuditEvent.entity_id == member.id)).one()
    assert event.actor_user_id == staff["district"].id
    logged = " ".join(str(v) for v in db.session.execute(
        select(AuditEvent.changes, AuditEvent.details, AuditEvent.reason)
        .where(AuditEvent.entity_id == member.id)).all())
    for value in ("सुनीता", "9812300099", "ERS0000001", "ग्राम"):
        assert value not in logged  # the log holds HMACs only


@pytest.mark.parametrize(("status", "after"), [("recorded", "rejected"),
                                                ("phone_verified", "rejected"),
                                                ("rejected", "rejected"),
                                                ("revoked", "revoked")])
def test_a_member_not_approved_is_rejected_or_left_as_decided(ctx, units, staff, status,
                                                             after):
    member = factories.member(units["BLK-BILHA"], status=status)
    erasure.erase(staff["state"], member.id, "member's letter")
    assert db.session.get(Member, member.id).status == after


def test_only_those_who_revoke_erase_and_only_inside_their_units(ctx, units, staff):
    member = approved(units["BLK-BILHA"])
    for who in ("bilha", "enroller", "division", "ro", "other_district"):
        with pytest.raises(NotFound):
            erasure.erase(staff[who], member.id, "asked")
    with pytest.raises(ValidationError):
        erasure.erase(staff["district"], member.id, "   ")
    with pytest.raises(NotFound):
        erasure.erase(staff["district"], 10**9, "asked")
    erasure.erase(staff["district"], member.id, "asked")
    with pytest.raises(ServiceError, match="already erased"):
        erasure.erase(staff["state"], member.id, "asked again")


def test_rolls_not_final_strike_the_entry_a_final_roll_keeps_it(ctx, units, staff):
    kept = approved(units["BLK-BILHA"], full_name="Final Roll Member")
    struck = approved(units["BLK-BILHA"], full_name="Open Roll Member")
    final = rolls.create(staff["ro"], units["DIST-BILASPUR"], CUT_OFF, "Final roll")
    rolls.freeze(staff["ro"], final.id)
    rolls.publish(staff["ro"], final.id, CUT_OFF, today=CUT_OFF)
    rolls.finalise(staff["ro"], final.id, today=CUT_OFF + timedelta(days=1))
    open_roll = rolls.create(staff["ro"], units["BLK-BILHA"], CUT_OFF, "Open roll")
    rolls.freeze(staff["ro"], open_roll.id)
    db.session.flush()
    count_before = open_roll.entry_count

    done = erasure.erase(staff["district"], struck.id, "asked")
    db.session.flush()
    entry = db.session.scalars(select(RollEntry).where(
        RollEntry.roll_id == open_roll.id, RollEntry.member_id == struck.id)).one()
    assert entry.removed and entry.full_name == "" and entry.relative_name == ""
    assert open_roll.entry_count == count_before - 1
    assert done.final_rolls == ["Final roll"]  # it was on the final roll too

    erasure.erase(staff["district"], kept.id, "asked")
    db.session.flush()
    assert db.session.scalar(select(RollEntry.full_name).where(
        RollEntry.roll_id == final.id, RollEntry.member_id == kept.id)) == "Final Roll Member"


def test_the_photo_leaves_storage_with_the_erasure_unless_another_member_shares_it(
        ctx, units, staff, app):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    path, digest = photos.store(buffer.getvalue())
    first = approved(units["BLK-BILHA"], photo_path=path, photo_sha256=digest)
    second = approved(units["BLK-BILHA"], photo_path=path, photo_sha256=digest)
    db.session.commit()
    name = photos.stored_name(path)

    erasure.erase(staff["district"], first.id, "asked")
    db.session.commit()
    assert storage.exists(name)  # the second member still shows it
    erasure.erase(staff["district"], second.id, "asked")
    db.session.commit()  # no step after the commit: the erasure itself removed it
    assert not storage.exists(name) and photos.read(path) is None
    assert db.session.scalar(select(func.count()).select_from(Member).where(
        Member.photo_path == path)) == 0
