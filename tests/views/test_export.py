"""Member CSV export: scoped, masked by role, safe against spreadsheet formulas."""

import csv
import io
import re
from datetime import date

import pytest
from sqlalchemy import insert

from backoffice import phonetic
from backoffice.extensions import db
from backoffice.models import Member
from backoffice.services.exports import safe_cell
from backoffice.services.units import ancestors
from tests import factories


@pytest.mark.parametrize(
    ("value", "safe"),
    [("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+91 98", "'+91 98"),
     ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
     ("सुनीता", "सुनीता"), ("", ""), (12, 12), (None, None)],
)
def test_cells_that_a_spreadsheet_would_run_are_neutralised(value, safe):
    assert safe_cell(value) == safe


def test_district_head_exports_the_district_only_and_formulas_are_defused(
        app, browser, staff, units):
    with app.test_request_context():
        factories.member(units["BLK-BILHA"], full_name="=cmd|' /C calc'!A0",
                         address="=evil()")
        factories.member(units["BLK-MASTURI"], full_name="Masturi Person")
        factories.member(units["BLK-KORBA"], full_name="Korba Person")
    response = browser(staff["district"]).get("/admin/members/export/csv/")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    names = {row[1] for row in rows[1:]}
    assert names == {"'=cmd|' /C calc'!A0", "Masturi Person"}
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_roles_that_see_masked_data_cannot_export(browser, staff):
    for who in ("division", "ro"):
        assert browser(staff[who]).get("/admin/members/export/csv/").status_code == 302, who


def test_every_field_of_the_member_export_is_quoted(app, browser, staff, units):
    with app.test_request_context():
        factories.member(units["BLK-BILHA"], full_name="@SUM(1+1)", address="-2+3, Bilha")
    response = browser(staff["district"]).get("/admin/members/export/csv/")
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    field = r'"(?:[^"]|"")*"'
    assert len(lines) == 2
    for line in lines:  # OWASP: every field in double quotes, formulas defused
        assert re.fullmatch(f"{field}(,{field})*", line), line
    assert "\"'@SUM(1+1)\"" in lines[1]


def test_the_import_problems_file_is_quoted_and_defused(ctx, units, staff):
    from backoffice.extensions import db
    from backoffice.models import ImportBatch, ImportProblem
    from backoffice.services import imports

    batch = ImportBatch(unit_id=units["BLK-BILHA"].id, uploaded_by_id=staff["bilha"].id,
                        filename="forms.csv", stored_path="x", sha256="0" * 64,
                        receipt_books="1")
    db.session.add(batch)
    db.session.flush()
    db.session.add(ImportProblem(batch_id=batch.id, row_no=2, field="full_name",
                                 reason="=HYPERLINK(\"http://evil\")"))
    db.session.flush()
    lines = imports.problems_csv(batch).lstrip("\ufeff").splitlines()
    assert lines == ['"row","field","reason"',
                     '"2","full_name","\'=HYPERLINK(""http://evil"")"']


def _many_members(block, count: int, start: int = 0, **values) -> None:
    """``count`` members in one statement (the factories flush one by one)."""
    up = ancestors(block)
    rows = [{
        "full_name": "सुनीता साहू", "relative_name": "रामलाल साहू", "relation": "father",
        "gender": "female", "date_of_birth": date(1990, 5, 17), "mobile": f"+9197{n:08d}",
        "epic": f"BLK{n:07d}", "address": "", "booth_no": "12",
        "division_id": up["division"], "district_id": up["district"], "block_id": block.id,
        "channel": "paper", "status": "recorded"} | values for n in range(start, start + count)]
    keys = phonetic.member_keys(rows[0])  # a bulk insert adds the search keys itself
    db.session.execute(insert(Member), [row | keys for row in rows],
                       execution_options={"audited": True})


def test_the_export_has_every_row_in_scope_past_ten_thousand(app, browser, staff, units):
    """The list shows 10,000+ and stops paging there; the export does not stop."""
    with app.test_request_context():
        _many_members(units["BLK-BILHA"], 10_050)
        factories.member(units["BLK-KORBA"], full_name="Korba Person")  # out of scope
    response = browser(staff["district"]).get("/admin/members/export/csv/")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1 + 10_050
    assert len({row[0] for row in rows[1:]}) == 10_050  # each member once
    assert "Korba Person" not in {row[1] for row in rows}


def test_the_export_takes_the_lists_search_and_filters_whole(app, browser, staff, units):
    with app.test_request_context():
        _many_members(units["BLK-BILHA"], 30)
        _many_members(units["BLK-MASTURI"], 20, start=30, full_name="कमला वर्मा",
                      channel="self")
    b = browser(staff["district"])
    by_name = b.get("/admin/members/export/csv/?search=कमला")
    rows = list(csv.reader(io.StringIO(by_name.get_data(as_text=True))))[1:]
    assert len(rows) == 20 and {row[1] for row in rows} == {"कमला वर्मा"}
    by_channel = b.get("/admin/members/export/csv/?flt0_1=self")
    rows = list(csv.reader(io.StringIO(by_channel.get_data(as_text=True))))[1:]
    assert len(rows) == 20 and {row[1] for row in rows} == {"कमला वर्मा"}
    oldest_first = b.get("/admin/members/export/csv/?sort=0")
    numbers = [row[0] for row in csv.reader(io.StringIO(
        oldest_first.get_data(as_text=True)))][1:]
    assert len(numbers) == 50 and numbers == sorted(numbers)
