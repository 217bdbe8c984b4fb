"""Paper-form imports: every rule of a digital signup, dry run, atomic commit."""

import csv
import io
import random
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import ImportProblem, Member
from backoffice.services import imports
from backoffice.services.errors import NotFound, ServiceError, ValidationError
from tests import factories

HEAD = ["नाम", "पिता/पति का नाम", "संबंध", "लिंग", "जन्म तिथि", "मोबाइल", "EPIC", "पता", "बूथ",
        "ब्लॉक"]
GOOD = ["सुनीता साहू", "रामलाल साहू", "पिता", "महिला", "17/05/1990", "9876543210",
        "CGA1234567", "ग्राम बिल्हा", "12", "Bilha"]



def csv_bytes(rows, head=HEAD, bom=True) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(head)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(rows, head=HEAD) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(head)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def run(staff, units, data, name="forms.csv", who="district", unit="DIST-BILASPUR"):
    batch = imports.upload(staff[who], units[unit], data, name, "पुस्तिका 101-105")
    imports.check(staff[who], batch.id)
    return batch


def problems(batch):
    return [(p.row_no, p.field, p.reason) for p in db.session.scalars(
        select(ImportProblem).where(ImportProblem.batch_id == batch.id)
        .order_by(ImportProblem.row_no))]


def members() -> int:
    return db.session.scalar(select(func.count()).select_from(Member))


def with_(**changes):
    row = list(GOOD)
    for index, value in changes.items():
        row[int(index[1:])] = value
    return row


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (with_(c0=""), "full_name", "Enter a name"),
        (with_(c0="Ram123"), "full_name", "only letters"),
        (with_(c1=""), "relative_name", "Enter a name"),
        (with_(c3="?"), "gender", "Choose a gender"),
        (with_(c4="2015-01-01"), "date_of_birth", "at least 18"),
        (with_(c4="31/31/1990"), "date_of_birth", "dd/mm/yyyy"),
        (with_(c5="1800 180 1551"), "mobile", "not a mobile"),
        (with_(c5="+44 7700 900123"), "mobile", "Only Indian"),
        (with_(c6="12345"), "epic", "three letters"),
        (with_(c9="Raipur"), "block", "block of this district"),
        (with_(c8="12; DROP"), "booth_no", "booth number"),
    ],
)
def test_each_rule_reports_the_row_number_and_reason(ctx, units, staff, row, field, reason):
    batch = run(staff, units, csv_bytes([GOOD, row]))
    assert (batch.total_rows, batch.valid_rows) == (2, 1)
    [(number, got_field, got_reason)] = problems(batch)
    assert (number, got_field) == (3, field) and reason in got_reason


def test_duplicates_in_the_file_and_in_the_register(ctx, units, staff):
    factories.member(units["BLK-MASTURI"], epic="REG0000001", full_name="Registered",
                     mobile="+919812000001")
    rows = [GOOD,
            with_(c0="दूसरा नाम", c5="9812300000"),                  # same EPIC as row 2
            with_(c6="CGA0000002"),                                  # same name and mobile
            with_(c0="Registered", c5="9812000001", c6=""),          # same person registered
            with_(c0="नया सदस्य", c6="REG0000001", c5="9812300001")]  # EPIC registered
    batch = run(staff, units, csv_bytes(rows))
    assert [(n, f) for n, f, _r in problems(batch)] == [
        (3, "epic"), (4, "full_name"), (5, "full_name"), (6, "epic")]


def test_the_phone_cap_counts_the_file_and_the_register(ctx, app, units, staff):
    app.config["MAX_MEMBERS_PER_PHONE"] = 2
    factories.member(units["BLK-BILHA"], mobile="+919876543210")
    rows = [with_(c0=name, c6="") for name in ("एक", "दो", "तीन")]
    batch = run(staff, units, csv_bytes(rows))
    assert batch.valid_rows == 1
    assert [n for n, _f, _r in problems(batch)] == [3, 4]


def test_a_dry_run_writes_no_member(ctx, units, staff):
    before = members()
    batch = run(staff, units, csv_bytes([GOOD]))
    assert batch.status == "checked" and batch.valid_rows == 1
    assert members() == before


def test_commit_imports_valid_rows_as_paper_members(ctx, units, staff):
    batch = run(staff, units, csv_bytes([GOOD, with_(c0="", c6="")]))
    assert imports.commit(staff["district"], batch.id) == 1
    member = db.session.scalar(select(Member).where(Member.import_batch_id == batch.id))
    assert (member.channel, member.status, member.recorded_by_id) == (
        "paper", "recorded", staff["district"].id)
    assert member.block_id == units["BLK-BILHA"].id and member.full_name == "सुनीता साहू"
    with pytest.raises(ServiceError, match="check"):
        imports.commit(staff["district"], batch.id)


def test_imports_outside_ones_units_are_refused(ctx, units, staff):
    for who, unit in (("bilha", "BLK-MASTURI"), ("other_district", "DIST-BILASPUR"),
                      ("division", "DIST-BILASPUR"), ("ro", "DIST-BILASPUR")):
        with pytest.raises(NotFound):
            imports.upload(staff[who], units[unit], csv_bytes([GOOD]), "f.csv", "1")
    batch = imports.upload(staff["district"], units["DIST-BILASPUR"], csv_bytes([GOOD]),
                           "f.csv", "1")
    with pytest.raises(NotFound):
        imports.check(staff["bilha"], batch.id)  # a block president cannot run a district's
    batch = run(staff, units, csv_bytes([with_(c9="Masturi")]), who="bilha",
                unit="BLK-BILHA")
    assert batch.valid_rows == 1  # a block's file goes to its own block, whatever it says
    imports.commit(staff["bilha"], batch.id)
    assert db.session.scalar(select(Member.block_id).where(
        Member.import_batch_id == batch.id)) == units["BLK-BILHA"].id


def test_a_failure_mid_commit_leaves_nothing(ctx, app, units, staff, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 3)
    rows = [with_(c0=f"सदस्य {chr(0x915 + i)}", c5=f"98123450{i:02d}", c6=f"BAT00000{i:02d}")
            for i in range(8)]
    batch = run(staff, units, csv_bytes(rows))
    db.session.commit()
    calls = {"n": 0}
    original = imports._insert_members

    def failing(rows):  # the second chunk's insert dies, after the first went in
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the power went out")
        return original(rows)

    monkeypatch.setattr(imports, "_insert_members", failing)
    with pytest.raises(RuntimeError):
        imports.commit(staff["district"], batch.id)
    monkeypatch.undo()
    db.session.rollback()
    assert calls["n"] == 2  # the first chunk had been inserted before the failure
    assert db.session.scalar(select(func.count()).select_from(Member).where(
        Member.import_batch_id == batch.id)) == 0
    assert imports.commit(staff["district"], batch.id) == 8  # and a retry works


def test_a_fuzzed_10000_row_file_reports_every_bad_row_and_commits_none_of_them(
        ctx, units, staff):
    rng = random.Random(11)
    rows, bad = [], set()
    breakers = [
        lambda r: r.__setitem__(0, rng.choice(["", "  ", "X1", "<b>", "=1+1"])),
        lambda r: r.__setitem__(5, rng.choice(["", "12345", "1800 180 1551", "९८७६५४३२१०",
                                               "+1 202 555 0143", "abc"])),
        lambda r: r.__setitem__(4, rng.choice(["", "2020-01-01", "99/99/9999", "yesterday"])),
        lambda r: r.__setitem__(3, rng.choice(["", "x", "unknown"])),
        lambda r: r.__setitem__(6, rng.choice(["AB1", "1234567890", "ABCD1234567"])),
        lambda r: r.__setitem__(9, rng.choice(["", "Atlantis", "Raipur"])),
    ]
    for i in range(10_000):
        number = 9_700_000_000 + i * 7
        row = [f"सदस्य {_letters(i)}", "पिता का नाम", "पिता", rng.choice(["पुरुष", "महिला"]),
               "01/01/1980", str(number), f"FZZ{i:07d}", "ग्राम", str(i % 200), "Bilha"]
        if rng.random() < 0.2:
            rng.choice(breakers)(row)
            bad.add(i + 2)
        rows.append(row)
    before = members()
    batch = run(staff, units, csv_bytes(rows))
    reported = {n for n, _f, reason in problems(batch) if reason}
    assert reported == bad
    assert batch.valid_rows == 10_000 - len(bad)
    imports.commit(staff["district"], batch.id)
    assert members() == before + 10_000 - len(bad)


def _letters(i: int) -> str:
    return "".join(chr(0x915 + int(d)) for d in str(i))


def test_excel_and_csv_with_bom_and_devanagari_read_the_same(ctx, units, staff):
    from_csv = run(staff, units, csv_bytes([GOOD, with_(c6="CGB7654321", c5="9812312312")]))
    from_xlsx = run(staff, units, xlsx_bytes([GOOD, with_(c6="CGB7654321", c5="9812312312")]),
                    name="forms.xlsx")
    assert from_csv.valid_rows == from_xlsx.valid_rows == 2
    semicolons = run(staff, units, csv_bytes([GOOD], bom=False).replace(b",", b";"))
    assert semicolons.valid_rows == 1


def test_excel_numbers_and_dates_are_read_as_people_wrote_them(ctx, units, staff):
    row = list(GOOD)
    row[4], row[5] = date(1990, 5, 17), 9876543210  # Excel cells, not text
    batch = run(staff, units, xlsx_bytes([row]), name="f.xlsx")
    assert batch.valid_rows == 1, problems(batch)


def test_bad_uploads_are_refused_with_a_reason(ctx, units, staff):
    for data, name, match in ((b"", "f.csv", "empty"), (b"x", "f.pdf", ".csv or .xlsx"),
                              (b"\xff\xfe\x00\xd8bad", "f.csv", None)):
        if match is None:
            continue
        with pytest.raises(ValidationError, match=match):
            imports.upload(staff["district"], units["DIST-BILASPUR"], data, name, "1")
    with pytest.raises(ValidationError, match="receipt book"):
        imports.upload(staff["district"], units["DIST-BILASPUR"], csv_bytes([GOOD]), "f.csv",
                       " ")


def _stored(app):
    folder = Path(app.instance_path) / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(("data", "name", "reason"), [
    # Excel's plain "CSV" on Windows is cp1252; of even length it once read as UTF-16.
    ("name,father\nJosé,Ramé\n".encode("cp1252"), "ansi-even.csv", "not saved as Unicode"),
    ("name,father\nJosé,Ramé\n\n".encode("cp1252"), "ansi-odd.csv", "not saved as Unicode"),
    ("name,father\nRam,Shyam\n".encode("utf-16-le"), "no-bom.csv", "not saved as Unicode"),
    (b"\xff\xfe\x00\xd8bad", "broken-utf16.csv", "not saved as Unicode"),
    (b"name\nRam Kumar\nShyam Lal\n", "one-column.csv", "Only one column"),
    (b"PK\x03\x04 not really a workbook", "damaged.xlsx", "cannot be opened"),
    (csv_bytes([GOOD]), "renamed.xlsx", "cannot be opened"),
    (b'name,father\n"' + b"x" * 200_000 + b'",y\n', "huge-cell.csv", "Line 2 of the file"),
])
def test_unreadable_files_are_refused_before_anything_is_kept(ctx, app, units, staff, data,
                                                               name, reason):
    before = members()
    with pytest.raises(ValidationError, match=reason):
        imports.upload(staff["district"], units["DIST-BILASPUR"], data, name, "1")
    assert _stored(app) == []
    assert members() == before


def test_utf16_and_utf8_files_with_their_mark_read_the_same(ctx, app, units, staff):
    text = csv_bytes([GOOD], bom=False).decode()
    for data in (("\ufeff" + text).encode("utf-16-le"), ("\ufeff" + text).encode("utf-16-be"),
                 text.replace(",", "\t").encode("utf-16"), text.encode("utf-8")):
        batch = run(staff, units, data)
        assert (batch.total_rows, batch.valid_rows) == (1, 1), problems(batch)
