"""The first row of an uploaded paper-form file: headings a person can choose from.

The batch page offers every heading in a list for each of the 13 fields, so a first row of
100,000 cells (a 0.9 MB CSV) made a 31 MB page taking 5 s on every visit, and a 60 MB file
could make one of gigabytes. Such a file is refused at upload, in the user's language, and
nothing is kept; an ordinary sheet with extra columns and empty ones is still taken.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import ImportBatch
from backoffice.services import import_files
from backoffice.services.errors import ValidationError
from tests.services.test_imports import GOOD, HEAD, csv_bytes, xlsx_bytes

WIDE = import_files.MAX_COLUMNS + 1
LONG = "शीर्षक" * (import_files.HEADING_MAX_CHARS // 6 + 1)
REFUSED = {
    # name: (headings, the file's suffix)
    "csv, one heading too many": ([f"c{i}" for i in range(WIDE)], ".csv"),
    "csv, 100,000 headings": ([f"c{i}" for i in range(100_000)], ".csv"),
    "xlsx, one heading too many": ([f"c{i}" for i in range(WIDE)], ".xlsx"),
    "csv, a heading too long": ([*HEAD, LONG], ".csv"),
    "xlsx, a heading too long": ([LONG, *HEAD], ".xlsx"),
    "csv, a heading of 100,000 characters": ([*HEAD, "x" * 100_000], ".csv"),
}


def _file(headings, suffix) -> bytes:
    rows = [["x"] * len(headings)]
    return csv_bytes(rows, head=headings) if suffix == ".csv" else xlsx_bytes(rows, head=headings)


@pytest.mark.parametrize("name", REFUSED)
def test_a_first_row_too_wide_or_too_long_is_refused_at_upload(name):
    headings, suffix = REFUSED[name]
    with pytest.raises(ValidationError) as refused:
        import_files.inspect(_file(headings, suffix), suffix)
    assert refused.value.field == "file"
    assert "at most 100 columns" in str(refused.value.message)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_sheet_with_many_empty_columns_and_some_extra_ones_is_taken(suffix):
    """Empty headings (Excel's formatted but empty columns) do not count."""
    headings = [*HEAD, *(f"extra {i}" for i in range(import_files.MAX_COLUMNS - len(HEAD))),
                *([""] * 500)]
    row = [*GOOD, *([""] * (len(headings) - len(GOOD)))]
    data = csv_bytes([row], head=headings) if suffix == ".csv" else xlsx_bytes(
        [row], head=headings)
    assert len(import_files.inspect(data, suffix)) == import_files.MAX_COLUMNS


def test_the_upload_page_says_why_in_hindi_and_keeps_nothing(app, browser, staff, units):
    b = browser(staff["district"], lang="hi")
    token = b.csrf_token("/admin/imports/")
    for name, (headings, suffix) in REFUSED.items():
        data = _file(headings, suffix)
        if len(data) > 400_000:  # the test client would spool it to a file it leaves open
            continue
        response = b.client.post("/admin/imports/", data={
            "csrf_token": token, "unit_id": units["DIST-BILASPUR"].id,
            "receipt_books": "101", "file": (io.BytesIO(data), "forms" + suffix)},
            content_type="multipart/form-data")
        assert response.status_code == 200, name
        assert "अधिकतम 100 कॉलम" in response.get_data(as_text=True), name
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0
