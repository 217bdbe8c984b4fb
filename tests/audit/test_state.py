"""`audit verify --state`: member rows against their last recorded state, so edits made
behind the app (a database superuser's UPDATE, INSERT or DELETE) are named."""

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from backoffice import audit
from backoffice.audit import chain
from backoffice.audit import state as row_state
from backoffice.extensions import db
from backoffice.models import AuditEvent, Member
from backoffice.services import demo, imports, workflow
from backoffice.services import members as member_service
from tests import factories
from tests.factories import approved

FLOOR = {"id": 0}


@pytest.fixture(autouse=True)
def _this_tests_members(app):
    """Findings about members from before this test (a test elsewhere may commit for
    real and leave events behind) are not this test's."""
    with app.app_context():
        FLOOR["id"] = 1 + max(db.session.scalar(select(func.max(Member.id))) or 0,
                              db.session.scalar(select(func.max(AuditEvent.entity_id)).where(
                                  AuditEvent.entity_type == "member")) or 0)


def findings() -> dict[int, str]:
    db.session.flush()
    return {f.member_id: f.problem for f in row_state.verify_state(db.session)
            if f.member_id >= FLOOR["id"]}


def behind_the_app(statement: str) -> None:
    """Raw SQL on the member table, as a database superuser would run it."""
    db.session.connection().exec_driver_sql(statement)


def copy_behind_the_app(member_id: int) -> int:
    """A new member row made by raw SQL (a copy of another, without its voter ID)."""
    copied = ", ".join([c.name for c in row_state.COLUMNS if c.name != "epic"] + ["updated_at"])
    behind_the_app(f"INSERT INTO member ({copied}) SELECT {copied} FROM member "  # noqa: S608
                   f"WHERE id = {member_id}")
    return db.session.scalar(select(Member.id).order_by(Member.id.desc()).limit(1))


@pytest.fixture
def register(ctx, units, staff):
    """Members written through every path the app has: form, edit, approval, phone check."""
    block = units["BLK-BILHA"]
    people = [factories.member(block, full_name=f"Person {i}", status="phone_verified")
              for i in range(4)]
    db.session.commit()
    workflow.apply(staff["bilha"], "approve", [people[0].id, people[1].id])
    workflow.apply(staff["bilha"], "reject", [people[2].id], reason="कागज़ अधूरे")
    member = db.session.get(Member, people[3].id)
    member_service.update(staff["district"], member.id, member_service.MemberInput(
        full_name="Corrected Name", relative_name="X", relation="father", gender="male",
        date_of_birth=date(1980, 1, 1), mobile=member.mobile, epic=member.epic, address="",
        booth_no="9", block_id=block.id))
    db.session.commit()
    return [p.id for p in people]


def test_a_register_written_by_the_app_verifies(register):
    assert findings() == {}


def test_an_update_behind_the_app_names_that_row_only(register):
    behind_the_app(f"UPDATE member SET full_name = 'Someone Else' WHERE id = {register[1]}")
    behind_the_app(f"UPDATE member SET status = 'approved' WHERE id = {register[2]}")
    problems = findings()
    assert set(problems) == {register[1], register[2]}
    assert "differ from its last recorded state" in problems[register[1]]


def test_rows_inserted_or_deleted_behind_the_app_are_named(register):
    ghost = copy_behind_the_app(register[0])  # first: SQLite would reuse a freed top id
    behind_the_app(f"DELETE FROM member WHERE id = {register[3]}")
    problems = findings()
    assert set(problems) == {register[3], ghost}
    assert "no event records" in problems[ghost] and "gone" in problems[register[3]]


def test_a_later_app_write_records_the_new_state(register, staff):
    workflow.apply(staff["district"], "revoke", [register[0]], reason="दोहरी सदस्यता")
    db.session.commit()
    assert findings() == {}


def test_paper_imports_and_demo_seeds_record_each_row(ctx, app, units, staff):
    from tests.services.test_imports import GOOD, csv_bytes, run

    batch = run(staff, units, csv_bytes([GOOD]))
    imports.commit(staff["district"], batch.id)
    db.session.commit()
    assert demo.seed_members(3) == 3
    db.session.commit()
    assert findings() == {} and db.session.query(Member).count() == 4
    member_id = db.session.scalar(select(Member.id).where(Member.import_batch_id == batch.id))
    behind_the_app(f"UPDATE member SET booth_no = '99' WHERE id = {member_id}")
    assert set(findings()) == {member_id}


def test_every_member_event_carries_the_state_its_commit_left(register):
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "member", AuditEvent.action.like("member.%"))).all()
    assert events and all(json.loads(e.details)[row_state.STATE] for e in events)
    row = db.session.execute(select(Member.id, *row_state.COLUMNS)
                             .where(Member.id == register[0])).one()
    last = max((e for e in events if e.entity_id == register[0]), key=lambda e: e.seq)
    assert json.loads(last.details)[row_state.STATE] == row_state.digest(row)


def test_a_state_known_from_the_write_still_follows_later_writes_in_its_transaction(
        ctx, units, staff):
    """A member's state is taken from what its insert wrote, or what a verification's
    update returned, without reading the row again; a later write in the same
    transaction (in bulk, as SQL text, or through the ORM) is in the state recorded."""
    from sqlalchemy import text, update

    block = units["BLK-BILHA"]
    bulk = factories.member(block, full_name="Written Again In Bulk")
    typed = factories.member(block, full_name="Written Again As Text")
    edited = factories.member(block, full_name="Edited After Insert")
    db.session.flush()
    db.session.execute(update(Member).where(Member.id == bulk.id).values(booth_no="77"),
                       execution_options={"synchronize_session": False, "audited": True})
    db.session.execute(text(f"UPDATE member SET booth_no = '78' WHERE id = {typed.id}"))
    edited.booth_no = "79"
    for member in (bulk, typed):
        audit.record("member.update", entity_type="member", entity_id=member.id,
                     unit_id=block.id, changes={"booth_no": [None, "7x"]})
    db.session.commit()
    assert findings() == {}
    verified = factories.member(block, full_name="Verified By Code")
    db.session.commit()
    stored = db.session.execute(update(Member).where(Member.id == verified.id)
                                .values(status="phone_verified")
                                .returning(*row_state.RETURNING),
                                execution_options={"synchronize_session": False,
                                                   "audited": True}).one()
    row_state.returned(db.session, stored)
    db.session.execute(update(Member).where(Member.id == verified.id).values(booth_no="80"),
                       execution_options={"synchronize_session": False, "audited": True})
    audit.record("member.verify_phone", entity_type="member", entity_id=verified.id,
                 unit_id=block.id, changes={"status": ["recorded", "phone_verified"]})
    db.session.commit()
    assert findings() == {}


def test_streams_cross_their_batches_in_step(register, monkeypatch):
    behind_the_app(f"UPDATE member SET address = 'x' WHERE id = {register[2]}")
    monkeypatch.setattr(row_state, "BATCH", 1)
    assert set(findings()) == {register[2]}


def test_legacy_rows_are_named_until_baselined(app, units):
    with app.test_request_context():
        model = approved(units["BLK-BILHA"], full_name="Recorded Last Year")
        db.session.commit()
        legacy = copy_behind_the_app(model.id)
        # As the log was before states were recorded: the member's event holds none.
        chain.append(db.session.connection(), [_bare_event("member.create", legacy)])
        db.session.commit()
        assert "predate recorded states" in findings()[legacy]
    cli = app.test_cli_runner()
    assert cli.invoke(args=["audit", "verify", "--state"]).exit_code == 1
    refused = cli.invoke(args=["audit", "baseline-state", "--reason", "  "])
    assert refused.exit_code != 0
    ran = cli.invoke(args=["audit", "baseline-state", "--reason", "states recorded from now"])
    assert ran.exit_code == 0 and "1 member rows" in ran.output, ran.output
    ok = cli.invoke(args=["audit", "verify", "--state"])
    assert ok.exit_code == 0 and "OK" in ok.output, ok.output


def _bare_event(action: str, member_id: int) -> dict:
    return {"occurred_at": "2025-01-01T00:00:00.000000", "actor_user_id": None,
            "actor_roles": "[]", "source_ip": None, "request_id": None, "session_ref": None,
            "action": action, "entity_type": "member", "entity_id": member_id,
            "unit_id": None, "changes": "{}", "reason": None, "details": "{}"}


def test_the_command_names_each_row_and_fails(app, units, staff):
    with app.test_request_context():
        kept = factories.member(units["BLK-BILHA"], full_name="Kept")
        edited = factories.member(units["BLK-BILHA"], full_name="Edited")
        db.session.commit()
        ids = kept.id, edited.id
        audit.record("test.event")
        db.session.commit()
    clean = app.test_cli_runner().invoke(args=["audit", "verify", "--state"])
    assert clean.exit_code == 0 and "OK" in clean.output, clean.output
    db.session.connection().exec_driver_sql(
        f"UPDATE member SET mobile = '+919999999999' WHERE id = {ids[1]}")
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--state"])
    assert result.exit_code == 1
    assert f"member {ids[1]}:" in result.output and f"member {ids[0]}:" not in result.output


def test_the_command_reads_one_snapshot_outside_any_transaction(make_app):
    """As an operator runs it: its own session, on PostgreSQL one REPEATABLE READ snapshot."""
    result = make_app().test_cli_runner().invoke(args=["audit", "verify", "--state"])
    assert result.exit_code in (0, 1) and "rows" in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
