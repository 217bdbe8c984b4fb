"""Reading paper-form spreadsheets: CSV (any common encoding of Excel's) or XLSX,
with the column headings mapped to member fields (guessed from Hindi or English)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import openpyxl
from flask_babel import lazy_gettext as _l

from backoffice.services.errors import ValidationError

FIELDS = ("full_name", "relative_name", "relation", "gender", "date_of_birth", "age", "mobile",
          "epic", "address", "booth_no", "block", "zone", "fee_receipt_no")
REQUIRED = ("full_name", "relative_name", "mobile")
FIELD_LABELS = {
    "full_name": _l("Name"), "relative_name": _l("Father's / husband's name"),
    "relation": _l("Relation"), "gender": _l("Gender"), "date_of_birth": _l("Date of birth"),
    "age": _l("Age"), "mobile": _l("Mobile"), "epic": _l("Voter ID (EPIC)"),
    "address": _l("Address"), "booth_no": _l("Booth"), "block": _l("Block"),
    "zone": _l("Zone"), "fee_receipt_no": _l("Fee receipt"),
}


# Headings seen on the party's paper forms and their typed-up sheets.
GUESSES = {
    "full_name": ("name", "full name", "member name", "नाम", "सदस्य का नाम", "पूरा नाम"),
    "relative_name": ("father", "father's name", "father/husband", "father or husband",
                      "husband", "पिता", "पिता का नाम", "पिता/पति का नाम", "पति का नाम"),
    "relation": ("relation", "संबंध", "s/o w/o"),
    "gender": ("gender", "sex", "लिंग"),
    "date_of_birth": ("date of birth", "dob", "birth date", "जन्म तिथि", "जन्मतिथि"),
    "age": ("age", "आयु", "उम्र"),
    "mobile": ("mobile", "mobile no", "phone", "mobile number", "मोबाइल", "मोबाइल नंबर"),
    "epic": ("epic", "voter id", "epic no", "मतदाता पहचान पत्र", "वोटर आईडी"),
    "address": ("address", "पता"),
    "booth_no": ("booth", "booth no", "polling booth", "बूथ", "बूथ क्रमांक", "मतदान केंद्र"),
    "block": ("block", "ब्लॉक", "विकासखंड"),
    "zone": ("zone", "ज़ोन", "जोन", "सेक्टर"),
    "fee_receipt_no": ("receipt", "receipt no", "fee receipt", "रसीद", "रसीद क्रमांक"),
}
MAX_ROWS = 500_000


def _normal(heading: str) -> str:
    return re.sub(r"[\s_.:]+", " ", (heading or "").strip().lower()).strip()


def guess_mapping(headings: list[str]) -> dict[str, str]:
    """{field: heading} for the headings that look like a known field."""
    mapping = {}
    for heading in headings:
        for field, names in GUESSES.items():
            if field not in mapping and _normal(heading) in names:
                mapping[field] = heading
    return mapping


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(_l("The file is not UTF-8 text. In Excel, save it as "
                             "\"CSV UTF-8\" or as .xlsx."), field="file")


def rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as the spreadsheet shows it, {heading: text}) for each data row."""
    if path.suffix.lower() == ".xlsx":
        yield from _xlsx_rows(path)
        return
    text = _decode(path.read_bytes())
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    headings = [h.strip() for h in next(reader, [])]
    for number, values in enumerate(reader, start=2):
        if any(value.strip() for value in values):
            yield number, dict(zip(headings, (v.strip() for v in values), strict=False))


def _xlsx_rows(path: Path):
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        values = sheet.iter_rows(values_only=True)
        headings = [str(h).strip() if h is not None else "" for h in next(values, ())]
        for number, row in enumerate(values, start=2):
            cells = [_cell_text(value) for value in row]
            if any(cells):
                yield number, dict(zip(headings, cells, strict=False))
    finally:
        book.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 9876543210 as 9876543210.0
    return str(value).strip()


def headings(path: Path) -> list[str]:
    """The first row's headings, even when no data row follows."""
    if path.suffix.lower() == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            first = next(book.worksheets[0].iter_rows(values_only=True), ())
        finally:
            book.close()
        return [str(h).strip() for h in first if h is not None]
    text = _decode(path.read_bytes())
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    return [h.strip() for h in next(csv.reader(io.StringIO(text), dialect), []) if h.strip()]
