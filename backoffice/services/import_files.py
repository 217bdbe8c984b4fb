"""Reading paper-form spreadsheets: CSV (UTF-8, or UTF-16/32 with a byte-order mark, as
Excel saves them) or XLSX, with the column headings mapped to member fields (guessed
from Hindi or English)."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
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
TOO_MANY_ROWS = _l("At most 5,00,000 rows in one file.")


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


# Byte-order marks, longest first (UTF-32's begins with UTF-16's). Excel writes one
# for "CSV UTF-8" and "Unicode Text"; without one, only strict UTF-8 is read.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
NOT_UNICODE = _l("The file is not saved as Unicode text, so its letters cannot be read "
                 "(Excel's plain \"CSV\" uses an old Windows code page, which has no Hindi). "
                 "In Excel, save it as \"CSV UTF-8\" or as .xlsx, and upload that.")
UNREADABLE_XLSX = _l("This .xlsx file cannot be opened: it is damaged or not an Excel "
                     "workbook. Open it in Excel and save it again, or save it as \"CSV UTF-8\".")
ONE_COLUMN = _l("Only one column was found. Put each field (name, father's name, mobile...) "
                "in its own column, separated by commas, and save as \"CSV UTF-8\" or .xlsx.")
PARSE_ROWS = 1000  # rows read at upload to prove a workbook opens (the check reads the rest)
# The batch page offers every heading in a list for each of the 13 fields: a first row of
# 100,000 cells made a page of 31 MB and 5 s, and a heading past 10,000 characters
# cannot be sent back as a choice (backoffice/inputs.py). A paper form has 13 fields.
MAX_COLUMNS = 100
HEADING_MAX_CHARS = 200
TOO_MANY_COLUMNS = _l("The first row should hold the column headings: at most %(n)s columns, "
                      "each heading at most %(chars)s characters. Correct the file and upload "
                      "it again.", n=MAX_COLUMNS, chars=HEADING_MAX_CHARS)


def _decode(data: bytes) -> str:
    """The text of a CSV, by a strict order: a byte-order mark, else UTF-8; else refused.

    Guessing a legacy code page is not honest: the same bytes read as Windows-1252
    or as UTF-16 give different names, and nothing in the file says which is meant.
    """
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise ValidationError(NOT_UNICODE, field="file") from None
    if "\x00" in text:  # UTF-16 without its mark reads as UTF-8 with a NUL in every letter
        raise ValidationError(NOT_UNICODE, field="file")
    return text


def _dialect(text: str):
    """The CSV's separator (comma, semicolon or tab), read from its first whole lines."""
    sample = "".join(itertools.islice(io.StringIO(text), 20))
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        if sample.strip():
            raise ValidationError(ONE_COLUMN, field="file") from None
        return csv.excel


def _csv_rows(text: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text), _dialect(text))
    try:
        yield from reader
    except csv.Error:
        raise ValidationError(_l("Line %(n)s of the file cannot be read as CSV (a cell far "
                                 "too long?). Correct it and upload the file again.",
                                 n=reader.line_num), field="file") from None


def _lines(source, suffix: str) -> Iterator[list]:
    """The file's rows as lists of cells, headings first: CSV text or workbook values."""
    if suffix == ".xlsx":
        yield from _xlsx_lines(source)
    else:
        yield from _csv_rows(_decode(source))


def _xlsx_lines(source) -> Iterator[list]:
    try:
        book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises a dozen kinds for a damaged file
        raise ValidationError(UNREADABLE_XLSX, field="file") from None
    try:
        if not book.worksheets:
            raise ValidationError(UNREADABLE_XLSX, field="file")
        values = book.worksheets[0].iter_rows(values_only=True)
        while True:
            try:
                row = next(values, None)
            except Exception:  # noqa: BLE001 - a damaged sheet can fail half-way through
                raise ValidationError(UNREADABLE_XLSX, field="file") from None
            if row is None:
                return
            yield [_cell_text(value) for value in row]
    finally:
        book.close()


def _source(path: Path):
    """What _lines reads: a workbook is opened from its path, a CSV is read whole."""
    return path if path.suffix.lower() == ".xlsx" else path.read_bytes()


def rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as the spreadsheet shows it, {heading: text}) for each data row."""
    lines = _lines(_source(path), path.suffix.lower())
    headings = [str(h).strip() for h in next(lines, [])]
    for number, values in enumerate(lines, start=2):
        values = [str(v).strip() for v in values]
        if any(values):
            yield number, dict(zip(headings, values, strict=False))


def headings(path: Path) -> list[str]:
    """The first row's headings, even when no data row follows."""
    first = next(_lines(_source(path), path.suffix.lower()), [])
    return [str(h).strip() for h in first if str(h).strip()]


def inspect(data: bytes, suffix: str) -> list[str]:
    """Read an uploaded file before anything keeps it: its headings, or a ValidationError
    saying in the user's language why it cannot be read. A CSV is read to its end
    (quick); a workbook as far as PARSE_ROWS rows (the check reads the rest)."""
    lines = _lines(io.BytesIO(data) if suffix == ".xlsx" else data, suffix)
    first = next(lines, [])
    found = [str(h).strip() for h in first if str(h).strip()]
    if len(found) < 2:
        raise ValidationError(ONE_COLUMN if found else _l("The file has no headings in its "
                                                          "first row."), field="file")
    if len(found) > MAX_COLUMNS or any(len(h) > HEADING_MAX_CHARS for h in found):
        raise ValidationError(TOO_MANY_COLUMNS, field="file")
    limit = PARSE_ROWS if suffix == ".xlsx" else MAX_ROWS
    for count, _line in enumerate(lines, start=1):
        if count > limit:
            if suffix == ".xlsx":
                break
            raise ValidationError(TOO_MANY_ROWS, field="file")
    return found


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
