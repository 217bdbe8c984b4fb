"""The member state machine: legal steps, refusals with reasons, scope, races."""

import threading
import time

import pytest
from sqlalchemy import delete, select

from backoffice import create_app
from backoffice.extensions import db
from backoffice.models import Job, Member, MemberDaily, MemberTally, RoleAssignment, StaffUser, Unit
from backoffice.services import workflow
from backoffice.services.errors import ServiceError, ValidationError
from tests import factories
from tests.conftest import POSTGRES_URL, base_config


def test_happy_path_recorded_verified_approved_revoked(ctx, units, staff):
    member = factories.member(units["BLK-BILHA"])
    assert workflow.apply(staff["enroller"], "verify_phone", [member.id]).done == [member.id]
    assert workflow.apply(staff["bilha"], "approve", [member.id]).done == [member.id]
    outcome = workflow.apply(staff["district"], "revoke", [member.id], "  duplicate   entry ")
    assert outcome.done == [member.id]
    member = db.session.get(Member, member.id)
    assert member.status == "revoked"
    assert member.status_reason == "duplicate entry"
    assert member.verified_by_id == staff["enroller"].id
    assert member.approved_by_id == staff["bilha"].id
    assert member.revoked_by_id == staff["district"].id
    assert member.approved_at <= member.revoked_at


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        ("recorded", "approve", "not verified yet"),
        ("approved", "approve", "already approved"),
        ("rejected", "approve", "was rejected"),
        ("revoked", "verify_phone", "was revoked"),
        ("phone_verified", "revoke", "waiting for approval"),
    ],
)
def test_illegal_steps_are_refused_with_a_clear_reason(ctx, units, staff, status, action,
                                                       message):
    member = factories.member(units["BLK-BILHA"], status=status)
    outcome = workflow.apply(staff["state"], action, [member.id], reason="checked")
    assert outcome.done == []
    assert message in str(outcome.refused[member.id])
    assert db.session.get(Member, member.id).status == status


def test_reject_and_revoke_need_a_reason(ctx, units, staff):
    member = factories.member(units["BLK-BILHA"], status="phone_verified")
    for blank in (None, "", "   "):
        with pytest.raises(ValidationError, match="Give a reason"):
            workflow.apply(staff["bilha"], "reject", [member.id], blank)
    with pytest.raises(ValidationError):
        workflow.apply(staff["bilha"], "reject", [member.id], "x" * 501)
    assert workflow.apply(staff["bilha"], "reject", [member.id], "फ़र्ज़ी नाम").done


def test_who_may_decide(ctx, units, staff):
    bilha = factories.member(units["BLK-BILHA"], status="phone_verified")
    masturi = factories.member(units["BLK-MASTURI"], status="phone_verified")
    # An enroller records and verifies, never approves.
    assert workflow.apply(staff["enroller"], "approve", [bilha.id]).done == []
    # A block president decides in the block only; elsewhere looks like nowhere.
    outcome = workflow.apply(staff["bilha"], "approve", [bilha.id, masturi.id, 987654])
    assert outcome.done == [bilha.id]
    assert str(outcome.refused[masturi.id]) == str(outcome.refused[987654])
    # Only a district head or the state revokes.
    assert workflow.apply(staff["bilha"], "revoke", [bilha.id], "r").done == []
    assert workflow.apply(staff["other_district"], "revoke", [bilha.id], "r").done == []
    assert workflow.apply(staff["district"], "revoke", [bilha.id], "r").done == [bilha.id]
    # A returning officer never edits members.
    assert workflow.apply(staff["ro"], "approve", [masturi.id]).done == []


def test_bulk_approval_reports_each_refusal(ctx, units, staff):
    ready = [factories.member(units["BLK-BILHA"], status="phone_verified") for _ in range(3)]
    unverified = factories.member(units["BLK-BILHA"])
    outcome = workflow.apply(staff["bilha"], "approve", [m.id for m in ready] + [unverified.id])
    assert outcome.done == sorted(m.id for m in ready)
    assert list(outcome.refused) == [unverified.id]


def test_empty_or_oversized_selection_is_refused(ctx, staff):
    with pytest.raises(ServiceError):
        workflow.apply(staff["bilha"], "approve", [])
    with pytest.raises(ServiceError):
        workflow.apply(staff["bilha"], "approve", range(1, 502))
    with pytest.raises(ServiceError):
        workflow.apply(staff["bilha"], "delete_everything", [1])


@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL row locks")
def test_two_people_approving_at_once_give_one_result(tmp_path):
    """Two connections: the second UPDATE waits on the first's row lock, then finds
    the member already approved. Rows are committed for real and removed after."""
    app = create_app(base_config(POSTGRES_URL, tmp_path))
    with app.app_context():
        created = _committed_race_fixture()
    results: dict[str, workflow.Outcome] = {}
    first_updated = threading.Event()

    def decide(name, user_id):
        with app.app_context(), app.test_request_context(headers={"Cookie": "lang=en"}):
            if name == "second":
                first_updated.wait(10)
            actor = db.session.get(StaffUser, user_id)
            results[name] = workflow.apply(actor, "approve", [created["member"]])
            if name == "first":
                first_updated.set()
                time.sleep(0.5)  # hold the row lock while the second one tries
            db.session.commit()

    try:
        threads = [threading.Thread(target=decide, args=(name, user_id))
                   for name, user_id in zip(("first", "second"), created["users"], strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
        assert results["first"].done == [created["member"]]
        assert results["second"].done == []
        assert "already approved" in str(results["second"].refused[created["member"]])
        with app.app_context():
            member = db.session.get(Member, created["member"])
            assert member.approved_by_id == created["users"][0]
    finally:
        with app.app_context():
            _remove_race_fixture(created)
            db.engine.dispose()


def _committed_race_fixture():
    from backoffice.services.units import load_units, read_units_csv

    before = set(db.session.scalars(select(Unit.id)))
    block = [u for u in load_units(read_units_csv()).values() if u.level == "block"][0]
    users = [factories.staff_with_role("block_president", block) for _ in range(2)]
    member = factories.member(block, status="phone_verified")
    db.session.commit()
    new_units = set(db.session.scalars(select(Unit.id))) - before
    return {"member": member.id, "users": [u.id for u in users], "units": new_units}


def _remove_race_fixture(created):
    cleanup = {"audited": True}  # test scaffolding, committed for real and removed here
    factories.delete_members_for_real(Member.id == created["member"])
    db.session.execute(delete(RoleAssignment).where(RoleAssignment.user_id.in_(created["users"])),
                       execution_options=cleanup)
    # jobs the scaffolding's staff started (an approval's SMS notice, a roll's notices)
    db.session.execute(delete(Job).where(Job.created_by_id.in_(created["users"])))
    db.session.execute(delete(StaffUser).where(StaffUser.id.in_(created["users"])),
                       execution_options=cleanup)
    db.session.execute(delete(MemberTally).where(MemberTally.block_id.in_(created["units"])))
    db.session.execute(delete(MemberDaily).where(MemberDaily.block_id.in_(created["units"])))
    units = db.session.scalars(select(Unit).where(Unit.id.in_(created["units"]))).all()
    for unit in sorted(units, key=lambda u: -len(u.path)):  # children first
        db.session.delete(unit)
        db.session.flush()
    db.session.commit()
