"""Member CSV export: scoped, masked by role, safe against spreadsheet formulas."""

import csv
import io

import pytest

from backoffice.services.exports import safe_cell
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
