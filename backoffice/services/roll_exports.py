"""Roll exports: CSV, XLSX and PDF, each written to a temporary file in bounded memory,
hashed, audited (row count and SHA-256 of exactly those bytes) and covered by a signed
audit checkpoint before it is handed out, with a manifest to go with it.

CSV on PostgreSQL is the database's own COPY, passed through in chunks.
Every cell a spreadsheet could read as a formula is neutralised.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter
from flask import current_app
from sqlalchemy import select

from backoffice import audit
from backoffice.audit import capture
from backoffice.audit import verify as audit_verify
from backoffice.extensions import db
from backoffice.models import AuditHead, Roll, RollEntry, Unit, utcnow
from backoffice.services.exports import SafeCsvWriter, safe_cell

CHUNK = 1 << 18
_progress: ContextVar[Callable[[int], None] | None] = ContextVar("roll_export_progress",
                                                                default=None)
FORMATS = ("csv", "xlsx", "pdf", "pdf-zip")
COLUMNS = ("booth_no", "serial", "membership_no", "full_name", "relative_name", "relation",
           "gender", "age")
HEADINGS = ("बूथ / Booth", "क्रमांक / Serial", "सदस्यता क्रमांक / Membership no.",
            "नाम / Name", "पिता या पति का नाम / Father's or husband's name",
            "संबंध / Relation", "लिंग / Gender", "आयु / Age")
_TEXT = {"full_name", "relative_name", "booth_no"}
# The printed title of each roll state (models.rolls.ROLL_STATES), Hindi and English:
# a frozen roll is not yet published, a preliminary one is open to claims.
TITLES = {
    "draft": ("सदस्यता सूची (मसौदा)", "Membership roll (draft)"),
    "frozen": ("सदस्यता सूची (स्थिर, अभी अप्रकाशित)", "Membership roll (frozen, not yet published)"),
    "preliminary": ("प्रारंभिक सदस्यता सूची", "Preliminary membership roll"),
    "final": ("अंतिम सदस्यता सूची", "Final membership roll"),
}


@dataclass
class Export:
    path: Path
    rows: int
    sha256: str
    media_type: str
    filename: str
    details: dict
    manifest: dict | None = None  # set by sign(), after the caller committed the event


def _order():
    return (RollEntry.booth_key, RollEntry.booth_no, RollEntry.serial)


def _entries(roll: Roll):
    """The roll's lines in print order, streamed (a server-side cursor on PostgreSQL)."""
    columns = [getattr(RollEntry, name) for name in COLUMNS]
    result = db.session.execute(
        select(*columns).where(RollEntry.roll_id == roll.id, RollEntry.removed.is_(False))
        .order_by(*_order()).execution_options(yield_per=5000))
    report = _progress.get()
    return result if report is None else _counted(result, report)


def _counted(result, report):
    """The lines, telling report() how many were read (a job's progress)."""
    try:
        for number, row in enumerate(result, start=1):
            if number % 500 == 0:
                report(number)
            yield row
    finally:
        result.close()


def write_csv(roll: Roll, out) -> int:
    out.write("\ufeff".encode())  # Excel reads UTF-8 Hindi only with the BOM
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return _copy_csv(roll, connection, out)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = SafeCsvWriter(text)
    writer.writerow(HEADINGS)
    rows = 0
    result = _entries(roll)
    for row in result:
        writer.writerow(row)
        rows += 1
    result.close()
    text.flush()
    text.detach()
    return rows


def _neutralised(column: str) -> str:
    if column not in _TEXT:
        return column
    return (f"CASE WHEN left({column}, 1) IN ('=', '+', '-', '@', chr(9), chr(13), chr(10)) "
            f"THEN '''' || {column} ELSE {column} END")


class _RowCounter:
    """Counts CSV records in a byte stream, not line breaks: a line break inside a
    quoted value (a name typed with a newline) belongs to its record. With every
    field quoted, a quote mark toggles "inside a value" (a doubled quote toggles
    twice), so a record ends at each newline met outside quotes."""

    def __init__(self) -> None:
        self.rows = 0
        self._quoted = False

    def feed(self, data: bytes) -> None:
        parts = data.split(b'"')
        outside = 1 if self._quoted else 0  # parts at this parity lie outside quotes
        self.rows += sum(part.count(b"\n") for part in parts[outside::2])
        self._quoted ^= (len(parts) - 1) % 2 == 1


def _copy_csv(roll: Roll, connection, out) -> int:
    """PostgreSQL writes the CSV itself (every field quoted); we pass its bytes through
    and count its records."""
    out.write((",".join(f'"{h}"' for h in HEADINGS) + "\r\n").encode())
    # Built from this module's constants and an integer id only: nothing from a user.
    select_sql = (f"SELECT {', '.join(_neutralised(c) for c in COLUMNS)} FROM roll_entry "  # noqa: S608
                  f"WHERE roll_id = {int(roll.id)} AND NOT removed "
                  "ORDER BY booth_key, booth_no, serial")
    raw = connection.connection.driver_connection
    counter = _RowCounter()
    with raw.cursor() as cursor, cursor.copy(
            f"COPY ({select_sql}) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *)") as copy:
        for chunk in copy:
            data = bytes(chunk)
            counter.feed(data)
            out.write(data)
            if _progress.get() is not None:
                _progress.get()(counter.rows)
    return counter.rows


def write_xlsx(roll: Roll, out) -> int:
    """XlsxWriter in constant-memory mode; every cell written as text or number,
    never as a formula or a link."""
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False,
                                     "tmpdir": tempfile.gettempdir()})
    sheet = book.add_worksheet("Roll")
    bold = book.add_format({"bold": True})
    for col, heading in enumerate(HEADINGS):
        sheet.write_string(0, col, heading, bold)
    rows = 0
    result = _entries(roll)
    for rows, row in enumerate(result, start=1):
        for col, value in enumerate(row):
            if isinstance(value, int):
                sheet.write_number(rows, col, value)
            else:
                sheet.write_string(rows, col, str(safe_cell(value or "")))
    result.close()
    book.close()
    return rows


def write_pdf(roll: Roll, out, *, zipped: bool) -> int:
    from backoffice.services import roll_pdf

    unit = db.session.get(Unit, roll.unit_id)
    title_hi, title_en = TITLES[roll.status]
    header = roll_pdf.RollHeader(
        title_hi=f"{title_hi} — {roll.title}", title_en=f"{title_en} — {roll.title}",
        unit_hi=unit.name_hi, unit_en=unit.name_en, cut_off=roll.cut_off,
        roll_ref=f"ROLL-{roll.id} · {roll.status}", generated_at=utcnow())
    rows = _entries(roll)
    relation_entries = (roll_pdf.RollLine(booth_no=row.booth_no, serial=row.serial,
                                          membership_no=row.membership_no,
                                          full_name=row.full_name,
                                          relative_name=row.relative_name,
                                          relation=row.relation, gender=row.gender, age=row.age)
                        for row in rows)
    try:
        if zipped:
            return roll_pdf.write_roll_pdf_zip(header, relation_entries, out)
        return roll_pdf.write_roll_pdf(header, relation_entries, out,
                                       max_lines=current_app.config["ROLL_PDF_MAX_LINES"])
    finally:  # a refusal half-way closes the server-side cursor before any rollback
        rows.close()


_WRITERS = {
    "csv": (lambda roll, out: write_csv(roll, out), "text/csv", "csv"),
    "xlsx": (lambda roll, out: write_xlsx(roll, out),
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": (lambda roll, out: write_pdf(roll, out, zipped=False), "application/pdf", "pdf"),
    "pdf-zip": (lambda roll, out: write_pdf(roll, out, zipped=True), "application/zip", "zip"),
}


def export(actor, roll: Roll, kind: str, *,
           progress: Callable[[int], None] | None = None) -> Export:
    """Write the file to a temporary path, hash it and record its audit event.

    The caller commits (which chains the event), then calls sign() for the
    manifest, and only then hands the file out. progress(lines) is told how far
    the writing got (a job's progress).
    """
    writer, media_type, suffix = _WRITERS[kind]
    handle = tempfile.NamedTemporaryFile(prefix=f"roll-{roll.id}-", suffix=f".{suffix}",
                                         delete=False)
    token = _progress.set(progress)
    try:
        with handle:
            rows = writer(roll, handle)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)  # a refused or killed export leaves no file
        raise
    finally:
        _progress.reset(token)
    digest = _sha256(Path(handle.name))
    details = {"roll": roll.id, "format": kind, "rows": rows, "sha256": digest,
               "status": roll.status, "cut_off": roll.cut_off.isoformat()}
    audit.record("roll.export", entity_type="roll", entity_id=roll.id, unit_id=roll.unit_id,
                 actor=actor, details=details)
    filename = f"roll-{roll.id}-{roll.status}.{suffix}"
    return Export(Path(handle.name), rows, digest, media_type, filename, details)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sign(roll: Roll, made: Export) -> dict:
    """The manifest: what the file is, and the signed audit position that vouches for it
    (call after the commit that wrote the export's event)."""
    made.manifest = _manifest(roll, made.details)
    return made.manifest


def _manifest(roll: Roll, details: dict) -> dict:
    unit = db.session.get(Unit, roll.unit_id)
    capture.settle_now(db.session)  # the export's own event is in the chain it signs
    head = db.session.get(AuditHead, 1)
    manifest = {"roll": roll.id, "title": roll.title, "unit": unit.code,
                "unit_name": f"{unit.name_en} / {unit.name_hi}", "status": roll.status,
                "cut_off": roll.cut_off.isoformat(), "format": details["format"],
                "rows": details["rows"], "sha256": details["sha256"],
                "audit": {"seq": head.seq, "row_hash": head.row_hash}}
    key_path = _signing_key()
    if key_path is not None:
        checkpoint = audit_verify.checkpoint(db.session, audit_verify.load_private_key(key_path))
        folder = Path(current_app.instance_path) / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        audit_verify.write_checkpoint(checkpoint,
                                      folder / f"checkpoint-{checkpoint['seq']:09d}.json")
        manifest["audit"]["checkpoint"] = checkpoint
    return manifest


def _signing_key() -> Path | None:
    configured = current_app.config.get("AUDIT_SIGNING_KEY")
    path = Path(configured) if configured else Path(current_app.instance_path) / \
        "audit-signing-key.pem"
    return path if path.exists() else None


def manifest_json(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
