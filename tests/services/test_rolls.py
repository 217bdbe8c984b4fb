"""Rolls: eligibility at the cut-off, freeze isolation, claims and objections, final."""

import csv
import hashlib
import io
import json
import re
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from backoffice.extensions import db
from backoffice.models import AuditEvent, AuditHead, Member, RollEntry
from backoffice.models.rolls import ROLL_STATES
from backoffice.services import imports, roll_exports, rolls, workflow
from backoffice.services import members as member_service
from backoffice.services.errors import NotFound, ServiceError, ValidationError
from tests import factories
from tests.factories import approved
from tests.services.test_roll_pdf import PDFTOTEXT, pdftotext

CUT_OFF = date(2026, 11, 15)
END = rolls.cut_off_end(CUT_OFF)  # 2026-11-15 18:30 UTC = midnight IST




@pytest.fixture
def bilha_roll(ctx, units, staff):
    return rolls.create(staff["ro"], units["DIST-BILASPUR"], CUT_OFF, "ज़िला सम्मेलन 2026")


def entries(roll):
    db.session.flush()
    db.session.expire_all()
    return db.session.scalars(select(RollEntry).where(RollEntry.roll_id == roll.id).order_by(
        RollEntry.booth_key, RollEntry.booth_no, RollEntry.serial)).all()


def test_eligibility_exactly_at_the_cut_off(ctx, units, staff, bilha_roll):
    block = units["BLK-BILHA"]
    on_time = approved(block, full_name="Last Minute", created_at=END - timedelta(seconds=1))
    approved(block, full_name="Too Late", created_at=END)
    approved(block, full_name="Not Verified", verified_at=None)
    factories.member(block, full_name="Only Verified", status="phone_verified",
                     verified_at=datetime(2026, 11, 1), created_at=datetime(2026, 11, 1))
    approved(block, full_name="Revoked", status="revoked")
    approved(units["BLK-KORBA"], full_name="Other District")
    assert rolls.freeze(staff["ro"], bilha_roll.id) == 1
    assert [e.member_id for e in entries(bilha_roll)] == [on_time.id]
    assert END == datetime(2026, 11, 15, 18, 30)


def test_entries_are_numbered_per_booth_and_later_edits_do_not_reach_them(
        ctx, units, staff, bilha_roll):
    block = units["BLK-BILHA"]
    people = [approved(block, booth_no=booth, full_name=f"Person {chr(65 + i)}")
              for i, booth in enumerate(["12", "3", "12", "12A", "3", None])]
    rolls.freeze(staff["ro"], bilha_roll.id)
    order = [(e.booth_no, e.serial) for e in entries(bilha_roll)]
    assert order == [("3", 1), ("3", 2), ("12", 1), ("12", 2), ("12A", 1), ("—", 1)]
    # Edits after the freeze leave the roll as it was.
    member_service.update(staff["district"], people[0].id, member_service.MemberInput(
        full_name="Renamed Later", relative_name="X", relation="father", gender="male",
        date_of_birth=date(1980, 1, 1), mobile=people[0].mobile, epic=people[0].epic,
        address="", booth_no="99", block_id=block.id))
    db.session.flush()
    frozen = {e.member_id: e for e in entries(bilha_roll)}[people[0].id]
    assert (frozen.full_name, frozen.booth_no) == ("Person A", "12")


def test_age_is_counted_on_the_cut_off_date(ctx, units, staff, bilha_roll):
    approved(units["BLK-BILHA"], date_of_birth=date(1990, 11, 16))
    rolls.freeze(staff["ro"], bilha_roll.id)
    assert entries(bilha_roll)[0].age == 35


def test_claims_objections_and_who_decides(ctx, units, staff):
    base = last_seq()
    bilha_roll = rolls.create(staff["ro"], units["DIST-BILASPUR"], CUT_OFF, "ज़िला सम्मेलन 2026")
    block = units["BLK-BILHA"]
    on = approved(block, full_name="On The Roll")
    missing = approved(block, full_name="Joined Late", created_at=END + timedelta(days=1))
    rolls.freeze(staff["ro"], bilha_roll.id)
    with pytest.raises(ServiceError):
        rolls.file_claim(staff["bilha"], bilha_roll.id, "claim", missing.id, "x")  # not yet
    rolls.publish(staff["ro"], bilha_roll.id, CUT_OFF + timedelta(days=10), today=CUT_OFF)
    today = CUT_OFF + timedelta(days=2)
    with pytest.raises(ValidationError, match="already on the roll"):
        rolls.file_claim(staff["bilha"], bilha_roll.id, "claim", on.id, "x", today=today)
    with pytest.raises(NotFound):  # a block president of another district
        rolls.file_claim(staff["other_district"], bilha_roll.id, "claim", missing.id, "x",
                         today=today)
    claim = rolls.file_claim(staff["bilha"], bilha_roll.id, "claim", missing.id,
                             "सदस्यता शुल्क 10 नवंबर को जमा", today=today)
    objection = rolls.file_claim(staff["bilha"], bilha_roll.id, "objection", on.id,
                                 "दूसरे ज़िले में भी सदस्य", today=today)
    for who in ("bilha", "district", "enroller"):  # only the returning officer decides
        with pytest.raises(NotFound):
            rolls.decide(staff[who], claim.id, True, "ok")
    with pytest.raises(ServiceError, match="open until"):
        rolls.finalise(staff["ro"], bilha_roll.id, today=today)
    rolls.decide(staff["ro"], claim.id, True, "रसीद देखी")
    with pytest.raises(ServiceError, match="already decided"):
        rolls.decide(staff["ro"], claim.id, False, "again")
    with pytest.raises(ServiceError, match="1 pending"):
        rolls.finalise(staff["ro"], bilha_roll.id, today=CUT_OFF + timedelta(days=11))
    rolls.decide(staff["ro"], objection.id, True, "सत्यापित")
    rolls.finalise(staff["ro"], bilha_roll.id, today=CUT_OFF + timedelta(days=11))
    lines = {e.member_id: e for e in entries(bilha_roll)}
    assert lines[missing.id].added_by_claim and lines[on.id].removed
    assert bilha_roll.status == "final" and bilha_roll.entry_count == 1
    with pytest.raises(ServiceError, match="is final"):
        rolls.file_claim(staff["bilha"], bilha_roll.id, "claim", missing.id, "x",
                         today=CUT_OFF + timedelta(days=11))
    db.session.commit()  # events are written with the transaction
    steps = [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("roll.%"), AuditEvent.action != "roll.update",
        AuditEvent.seq > base)
        .order_by(AuditEvent.seq))]
    assert steps == ["roll.create", "roll.freeze", "roll.publish", "roll.claim",
                     "roll.objection", "roll.claim_accepted", "roll.objection_accepted",
                     "roll.finalise"]


def test_a_final_roll_cannot_change_even_by_sql(ctx, units, staff, bilha_roll):
    approved(units["BLK-BILHA"])
    rolls.freeze(staff["ro"], bilha_roll.id)
    rolls.publish(staff["ro"], bilha_roll.id, CUT_OFF, today=CUT_OFF)
    rolls.finalise(staff["ro"], bilha_roll.id, today=CUT_OFF + timedelta(days=1))
    db.session.flush()
    for statement in (f"UPDATE roll_entry SET full_name = 'x' WHERE roll_id = {bilha_roll.id}",
                      f"DELETE FROM roll_entry WHERE roll_id = {bilha_roll.id}",
                      f"UPDATE roll SET title = 'x' WHERE id = {bilha_roll.id}"):
        with pytest.raises((IntegrityError, DBAPIError), match="final roll"):
            with db.session.begin_nested():
                db.session.execute(text(statement))


def test_only_a_returning_officer_in_scope_runs_a_roll(ctx, units, staff, bilha_roll):
    for who in ("district", "bilha", "division", "enroller"):
        with pytest.raises(NotFound):
            rolls.freeze(staff[who], bilha_roll.id)
    with pytest.raises(NotFound):
        rolls.create(staff["ro"], units["DIST-RAIPUR"], CUT_OFF, "x")


@pytest.fixture
def hostile_roll(ctx, units, staff, bilha_roll):
    approved(units["BLK-BILHA"], full_name="=HYPERLINK(\"http://evil\")", booth_no="7",
             relative_name="+CMD|' /C calc'!A0")
    approved(units["BLK-BILHA"], full_name="प्रियंका त्रिपाठी", booth_no="7")
    rolls.freeze(staff["ro"], bilha_roll.id)
    return bilha_roll


def last_seq() -> int:
    """The chain's head: events of this test come after it (tests elsewhere may leave
    committed events behind, and the log cannot be cleaned)."""
    db.session.commit()
    return db.session.scalar(select(AuditHead.seq))


def export_event(made):
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "roll.export", AuditEvent.seq > made.base_seq)).one()


def exported(roll, staff, kind):
    """As the screens and the command line do: export, commit, sign."""
    base = last_seq()
    made = roll_exports.export(staff["ro"], roll, kind)
    made.base_seq = base
    db.session.commit()
    roll_exports.sign(roll, made)
    return made


def test_csv_export_is_safe_and_its_audit_event_and_manifest_match_the_bytes(
        ctx, staff, hostile_roll):
    made = exported(hostile_roll, staff, "csv")
    body = made.path.read_bytes()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "बूथ / Booth" and len(rows) == 3 == made.rows + 1
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert "'=HYPERLINK(\"http://evil\")" in [row[3] for row in rows]
    digest = hashlib.sha256(body).hexdigest()
    event = export_event(made)
    details = json.loads(event.details)
    assert details["sha256"] == digest == made.sha256 == made.manifest["sha256"]
    assert details["rows"] == made.manifest["rows"] == 2
    assert made.manifest["audit"]["seq"] >= event.seq
    made.path.unlink()


def test_xlsx_export_writes_text_not_formulas(ctx, staff, hostile_roll):
    made = exported(hostile_roll, staff, "xlsx")
    sheet = openpyxl.load_workbook(made.path).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    types = {cell.data_type for row in sheet.iter_rows(min_row=2) for cell in row}
    assert "f" not in types  # no formula cell anywhere
    assert "'=HYPERLINK(\"http://evil\")" in [row[3] for row in values]
    assert "प्रियंका त्रिपाठी" in [row[3] for row in values]
    made.path.unlink()


def test_a_checkpoint_is_signed_at_export_when_the_key_exists(ctx, app, staff, hostile_roll,
                                                              tmp_path):
    from backoffice.audit.verify import new_key, verify_checkpoint

    app.config["AUDIT_SIGNING_KEY"] = str(tmp_path / "key.pem")
    public = new_key(tmp_path / "key.pem")
    made = exported(hostile_roll, staff, "csv")
    checkpoint = made.manifest["audit"]["checkpoint"]
    assert verify_checkpoint(db.session, checkpoint, [public]).ok
    made.path.unlink()


def test_members_table_unchanged_by_export(ctx, staff, hostile_roll):
    before = db.session.scalar(select(Member.full_name).where(Member.booth_no == "7")
                               .order_by(Member.id))
    exported(hostile_roll, staff, "csv").path.unlink()
    assert db.session.scalar(select(Member.full_name).where(Member.booth_no == "7")
                             .order_by(Member.id)) == before


CSV_FIELD = r'"(?:[^"]|"")*"'


def test_csv_counts_rows_not_line_breaks(ctx, units, staff, bilha_roll):
    block = units["BLK-BILHA"]
    approved(block, full_name="Two\nLines", relative_name='Quote " and\r\nbreak', booth_no="4")
    approved(block, full_name="One Line", booth_no="4")
    rolls.freeze(staff["ro"], bilha_roll.id)
    made = exported(bilha_roll, staff, "csv")
    rows = list(csv.reader(io.StringIO(made.path.read_bytes().decode("utf-8-sig"),
                                       newline="")))
    assert [row[3] for row in rows[1:]] == ["Two\nLines", "One Line"]
    event = export_event(made)
    assert made.rows == json.loads(event.details)["rows"] == made.manifest["rows"] == 2
    made.path.unlink()


def test_every_csv_field_is_quoted_and_neutralised(ctx, units, staff, bilha_roll):
    approved(units["BLK-BILHA"], full_name="@SUM(1+1)", relative_name="-2+3", booth_no="5")
    approved(units["BLK-BILHA"], full_name="Plain Name", booth_no="5")
    rolls.freeze(staff["ro"], bilha_roll.id)
    made = exported(bilha_roll, staff, "csv")
    lines = made.path.read_bytes().decode("utf-8-sig").splitlines()
    assert len(lines) == 3
    for line in lines:  # OWASP: every field in double quotes
        assert re.fullmatch(f"{CSV_FIELD}(,{CSV_FIELD})*", line), line
    assert "\"'@SUM(1+1)\"" in lines[1] and "\"'-2+3\"" in lines[1]
    made.path.unlink()


@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) reads the PDF back")
def test_each_roll_state_prints_its_own_title(ctx, units, staff, bilha_roll, tmp_path):
    approved(units["BLK-BILHA"], full_name="Title Check")
    rolls.freeze(staff["ro"], bilha_roll.id)
    seen = {}
    for step in ("frozen", "preliminary", "final"):
        if step == "preliminary":
            rolls.publish(staff["ro"], bilha_roll.id, CUT_OFF, today=CUT_OFF)
        if step == "final":
            rolls.finalise(staff["ro"], bilha_roll.id, today=CUT_OFF + timedelta(days=1))
        made = exported(bilha_roll, staff, "pdf")
        seen[step] = " ".join(pdftotext(made.path.read_bytes(), tmp_path).split())
        made.path.unlink()
    assert "Membership roll (frozen, not yet published)" in seen["frozen"]
    assert "Preliminary membership roll" in seen["preliminary"]
    assert "Final membership roll" in seen["final"]
    assert not any("draft" in text for text in seen.values())
    assert set(roll_exports.TITLES) == set(ROLL_STATES)
    assert len({title for pair in roll_exports.TITLES.values() for title in pair}) == 8


def test_a_paper_evidence_member_reaches_the_final_roll(ctx, app, units, staff):
    from tests.services.test_imports import GOOD, csv_bytes, run

    app.config["PAPER_APPROVAL"] = "paper_evidence"
    batch = run(staff, units, csv_bytes([GOOD]))
    assert imports.commit(staff["district"], batch.id) == 1
    member = db.session.scalar(select(Member).where(Member.import_batch_id == batch.id))
    assert (member.channel, member.status, member.verified_at) == ("paper", "recorded", None)
    assert workflow.apply(staff["bilha"], "approve", [member.id]).done == [member.id]
    today = (datetime.now(UTC) + rolls.IST).date()
    roll = rolls.create(staff["ro"], units["DIST-BILASPUR"], today, "पंचायत सम्मेलन")
    assert rolls.freeze(staff["ro"], roll.id) == 1
    rolls.publish(staff["ro"], roll.id, today, today=today)
    rolls.finalise(staff["ro"], roll.id, today=today + timedelta(days=1))
    assert [(e.member_id, e.full_name) for e in entries(roll)] == [(member.id, "सुनीता साहू")]
    made = exported(roll, staff, "csv")
    assert made.rows == 1 and roll.status == "final"
    assert "सुनीता साहू" in made.path.read_bytes().decode("utf-8-sig")
    made.path.unlink()


def test_an_unapproved_paper_member_stays_off_the_roll(ctx, app, units, staff, bilha_roll):
    approved(units["BLK-BILHA"], channel="paper", verified_at=None, status="recorded")
    approved(units["BLK-BILHA"], channel="paper", verified_at=None, status="rejected")
    approved(units["BLK-BILHA"], channel="enroller", verified_at=None)
    on = approved(units["BLK-BILHA"], channel="paper", verified_at=None)
    assert rolls.freeze(staff["ro"], bilha_roll.id) == 1
    assert [e.member_id for e in entries(bilha_roll)] == [on.id]


def test_the_csv_record_count_holds_whatever_the_chunks():
    data = b'"12","1","Two\nLines","He said ""hi""\r\n"\n"12","2","","x"\n'
    for cut in range(len(data) + 1):
        counter = roll_exports._RowCounter()
        counter.feed(data[:cut])
        counter.feed(data[cut:])
        assert counter.rows == 2, cut
