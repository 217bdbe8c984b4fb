"""Undoing a decision: by the same person, within UNDO_SECONDS, while nothing else has
happened to the member and no frozen roll holds them; audited as its own event."""

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from backoffice.extensions import db
from backoffice.models import AuditEvent, Member, MemberDaily, MemberTally, RollEntry, utcnow
from backoffice.services import rolls, workflow
from backoffice.services.errors import ServiceError
from tests import factories


def verified(units, **kwargs):
    return factories.member(units["BLK-BILHA"], status="phone_verified",
                            verified_at=utcnow() - timedelta(hours=1), **kwargs)


def reload(member) -> Member:
    db.session.expire_all()
    return db.session.get(Member, member.id)


def test_an_approval_is_undone_back_to_waiting_and_audited(ctx, units, staff):
    member = verified(units)
    workflow.apply(staff["bilha"], "approve", [member.id])
    assert workflow.undoable_decision(staff["bilha"], reload(member)) == "approve"
    outcome = workflow.undo(staff["bilha"], [member.id])
    assert outcome.done == [member.id]
    member = reload(member)
    assert (member.status, member.approved_at, member.approved_by_id) == (
        "phone_verified", None, None)
    db.session.commit()  # the events are chained at commit
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "member.decision_undone", AuditEvent.entity_id == member.id))
    assert event.actor_user_id == staff["bilha"].id
    assert json.loads(event.changes) == {"status": ["approved", "phone_verified"]}
    assert json.loads(event.details)["undid"] == "approve"
    # and it can be approved again
    assert workflow.apply(staff["bilha"], "approve", [member.id]).done == [member.id]


def test_a_rejection_and_a_revocation_are_undone_with_their_reasons(ctx, units, staff):
    rejected, approved = verified(units), verified(units)
    workflow.apply(staff["bilha"], "reject", [rejected.id], "नाम दोबारा")
    workflow.apply(staff["bilha"], "approve", [approved.id])
    db.session.execute(update(Member).where(Member.id == approved.id).values(
        approved_at=utcnow() - timedelta(days=1), updated_at=utcnow() - timedelta(days=1)),
        execution_options={"audited": True})
    workflow.apply(staff["district"], "revoke", [approved.id], "दोहरी सदस्यता")
    assert workflow.undo(staff["bilha"], [rejected.id]).done == [rejected.id]
    assert workflow.undo(staff["district"], [approved.id]).done == [approved.id]
    rejected, approved = reload(rejected), reload(approved)
    assert (rejected.status, rejected.status_reason, rejected.rejected_at) == (
        "phone_verified", None, None)
    assert (approved.status, approved.status_reason, approved.revoked_by_id) == (
        "approved", None, None)
    assert approved.approved_at is not None  # the earlier approval stands


def test_a_paper_form_approved_on_its_evidence_goes_back_to_recorded(ctx, app, units, staff):
    app.config["PAPER_APPROVAL"] = "paper_evidence"
    member = factories.member(units["BLK-BILHA"], channel="paper")
    workflow.apply(staff["bilha"], "approve", [member.id])
    workflow.undo(staff["bilha"], [member.id])
    assert reload(member).status == "recorded"


def test_only_the_person_who_decided_may_undo(ctx, units, staff):
    member = verified(units)
    workflow.apply(staff["bilha"], "approve", [member.id])
    for other in ("state", "district", "masturi", "enroller"):
        outcome = workflow.undo(staff[other], [member.id])
        assert outcome.done == [] and member.id in outcome.refused, other
        assert workflow.undoable_decision(staff[other], reload(member)) is None
    assert reload(member).status == "approved"


def test_the_undo_window_is_configurable_and_closes(ctx, app, units, staff):
    member = verified(units)
    workflow.apply(staff["bilha"], "approve", [member.id])
    app.config["UNDO_SECONDS"] = 30
    past = utcnow() - timedelta(seconds=31)
    db.session.execute(update(Member).where(Member.id == member.id).values(
        approved_at=past, updated_at=past), execution_options={"audited": True})
    outcome = workflow.undo(staff["bilha"], [member.id])
    assert "last 30 seconds" in str(outcome.refused[member.id])
    app.config["UNDO_SECONDS"] = 60
    assert workflow.undo(staff["bilha"], [member.id]).done == [member.id]


def test_nothing_may_have_happened_to_the_member_since(ctx, units, staff):
    member = verified(units)
    workflow.apply(staff["bilha"], "approve", [member.id])
    edited = reload(member)
    edited.booth_no = "99"  # a correction after the approval
    db.session.flush()
    outcome = workflow.undo(staff["bilha"], [member.id])
    assert "nothing else has happened" in str(outcome.refused[member.id])
    assert reload(member).status == "approved"


def test_a_member_on_a_frozen_roll_keeps_the_decision(ctx, units, staff):
    member = verified(units)
    workflow.apply(staff["bilha"], "approve", [member.id])
    roll = rolls.create(staff["ro"], units["DIST-BILASPUR"], date.today() + timedelta(days=1),
                        "ज़िला सम्मेलन")
    assert rolls.freeze(staff["ro"], roll.id) >= 1
    assert db.session.scalar(select(RollEntry.id).where(RollEntry.member_id == member.id))
    outcome = workflow.undo(staff["bilha"], [member.id])
    assert "frozen roll" in str(outcome.refused[member.id])
    assert reload(member).status == "approved"


def test_a_bulk_decision_is_undone_together_and_counts_follow(ctx, units, staff):
    members = [verified(units) for _ in range(3)]
    ids = [m.id for m in members]
    workflow.apply(staff["bilha"], "approve", ids)
    at = reload(members[0]).approved_at
    assert sorted(workflow.decided_together(staff["bilha"], "approve", at)) == ids
    assert workflow.decided_together(staff["masturi"], "approve", at) == []
    assert workflow.undo(staff["bilha"], ids).done == ids
    assert {reload(m).status for m in members} == {"phone_verified"}
    with pytest.raises(ServiceError):
        workflow.undo(staff["bilha"], [])


def test_ids_outside_the_scope_look_missing(ctx, units, staff):
    masturi = factories.member(units["BLK-MASTURI"], status="phone_verified",
                               verified_at=utcnow())
    workflow.apply(staff["masturi"], "approve", [masturi.id])
    outcome = workflow.undo(staff["bilha"], [masturi.id, 999_999])
    assert {str(m) for m in outcome.refused.values()} == {"No such member in your units."}


def test_an_undone_approval_leaves_the_tallies_and_the_days_count(ctx, units, staff):
    """The dashboard's numbers follow: the status counts and the day's approvals."""
    member = verified(units)
    before = stats_now(units)
    workflow.apply(staff["bilha"], "approve", [member.id])
    assert stats_now(units) == (before[0] - 1, before[1] + 1, before[2] + 1)
    workflow.undo(staff["bilha"], [member.id])
    assert stats_now(units) == before
    workflow.apply(staff["bilha"], "approve", [member.id])  # approved again: counted once
    assert stats_now(units)[2] == before[2] + 1


def stats_now(units) -> tuple[int, int, int]:
    """(waiting, approved, approved today) in Bilha, from the trigger-kept counts."""
    db.session.flush()
    tally = dict(db.session.execute(select(MemberTally.status, MemberTally.n).where(
        MemberTally.block_id == units["BLK-BILHA"].id)).all())
    today = db.session.scalar(select(func.coalesce(func.sum(MemberDaily.n), 0)).where(
        MemberDaily.block_id == units["BLK-BILHA"].id, MemberDaily.event == "approved"))
    return tally.get("phone_verified", 0), tally.get("approved", 0), today
