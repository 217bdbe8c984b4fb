"""The paper-form backlog: upload, dry run, then one atomic commit, under the same rules
as a digital signup (services.members) and inside the uploader's units.

Rows are checked in chunks: duplicates inside the file and against the
register (voter ID; phone with name), the per-phone cap, the block and zone
inside the batch's unit. The commit checks every row again (the register may
have changed since the dry run) and inserts the valid ones in one transaction:
a failure half-way leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, any_, delete, func, insert, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from backoffice import audit, phonetic, storage
from backoffice.auth.roles import MEMBER_IMPORT
from backoffice.auth.scoping import unit_in_scope
from backoffice.extensions import db
from backoffice.models import ImportBatch, ImportProblem, Member, Unit, utcnow
from backoffice.services import import_files, search
from backoffice.services import members as member_service
from backoffice.services.errors import NotFound, ServiceError, ValidationError
from backoffice.services.exports import SafeCsvWriter
from backoffice.services.units import ancestors

CHUNK = 2000
_RELATIONS = {"father": "father", "पिता": "father", "s/o": "father", "d/o": "father",
              "husband": "husband", "पति": "husband", "w/o": "husband"}
_GENDERS = {"female": "female", "f": "female", "महिला": "female", "स्त्री": "female",
            "male": "male", "m": "male", "पुरुष": "male", "other": "other", "अन्य": "other"}


def upload(actor, unit: Unit, data: bytes, filename: str, receipt_books: str) -> ImportBatch:
    """Open a batch for a block or district in scope, for a file that reads: it is parsed
    first and kept (by its SHA-256) only once accepted."""
    if unit is None or unit.level not in ("block", "district") or not unit_in_scope(
            actor, MEMBER_IMPORT, unit):
        raise NotFound(_l("Choose a block or district from your units."))
    suffix = Path(filename or "").suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValidationError(_l("Upload a .csv or .xlsx file."), field="file")
    largest = current_app.config["IMPORT_MAX_BYTES"]
    if not data or len(data) > largest:
        raise ValidationError(_l("The file is empty or larger than %(n)s MB.",
                                 n=largest // 1_000_000), field="file")
    books = " ".join((receipt_books or "").split())[:200]
    if not books:
        raise ValidationError(_l("Write the receipt book numbers of these forms."),
                              field="receipt_books")
    columns = import_files.inspect(data, suffix)
    digest = hashlib.sha256(data).hexdigest()
    name = f"imports/{digest}{suffix}"  # shared storage: every host and worker reads it
    storage.save(name, data)
    batch = ImportBatch(unit_id=unit.id, uploaded_by_id=actor.id, receipt_books=books,
                        filename=Path(filename).name[:200], stored_path=name, sha256=digest,
                        mapping=json.dumps(import_files.guess_mapping(columns),
                                           ensure_ascii=False))
    db.session.add(batch)
    db.session.flush()
    audit.record("import.upload", entity_type="import", entity_id=batch.id, unit_id=unit.id,
                 actor=actor, details={"sha256": digest, "bytes": len(data),
                                       "receipt_books": books})
    return batch


def set_mapping(batch: ImportBatch, mapping: dict[str, str]) -> None:
    columns = set(headings(batch))
    clean = {f: h for f, h in mapping.items() if f in import_files.FIELDS and h in columns}
    missing = [f for f in import_files.REQUIRED if f not in clean]
    if "date_of_birth" not in clean and "age" not in clean:
        missing.append("date_of_birth")
    if missing:
        names = ", ".join(str(import_files.FIELD_LABELS[f]) for f in missing)
        raise ValidationError(_l("Choose the columns for: %(fields)s.", fields=names),
                              field="mapping")
    batch.mapping = json.dumps(clean, ensure_ascii=False)
    batch.status = "uploaded"


@dataclass
class Checker:
    """Checks rows in chunks; remembers what the file itself already used."""

    batch: ImportBatch
    today: date
    blocks: dict[str, Unit] = field(default_factory=dict)
    seen_epics: set[str] = field(default_factory=set)
    seen_people: set[tuple[str, str]] = field(default_factory=set)
    phones: Counter = field(default_factory=Counter)

    def __post_init__(self):
        unit = db.session.get(Unit, self.batch.unit_id)
        under = db.session.scalars(select(Unit).where(Unit.path.startswith(unit.path),
                                                      Unit.level.in_(("block", "zone")))).all()
        for candidate in under:
            for name in (candidate.code, candidate.name_en, candidate.name_hi):
                self.blocks[f"{candidate.level}:{name.strip().lower()}"] = candidate
        self.unit = unit
        self.mapping = json.loads(self.batch.mapping)
        self.cap = current_app.config["MAX_MEMBERS_PER_PHONE"]
        self.ancestors = {}

    def value(self, row: dict, name: str) -> str:
        heading = self.mapping.get(name)
        return (row.get(heading) or "").strip() if heading else ""

    def check_chunk(self, chunk: list[tuple[int, dict]]):
        """(good member rows, problems [(row no, field, reason)]) for one chunk."""
        cleaned, problems = [], []
        for number, row in chunk:
            try:
                cleaned.append((number, self._clean(row)))
            except ValidationError as error:
                problems.append((number, error.field, str(error.message)))
        epics = sorted({v["epic"] for _n, v in cleaned if v["epic"]})
        phones = sorted({v["mobile"] for _n, v in cleaned})
        taken_epics = set(db.session.scalars(select(Member.epic).where(
            _one_of(Member.epic, epics))))
        existing = db.session.execute(select(Member.mobile, Member.full_name).where(
            _one_of(Member.mobile, phones))).all()
        people = {(m, n) for m, n in existing}
        per_phone = Counter(m for m, _n in existing)
        good = []
        for number, values in cleaned:
            reason = self._duplicate(values, taken_epics, people, per_phone)
            if reason:
                problems.append((number, *reason))
                continue
            self.seen_epics.add(values["epic"])
            self.seen_people.add((values["mobile"], values["full_name"]))
            self.phones[values["mobile"]] += 1
            good.append(values)
        return good, problems

    def _duplicate(self, values, taken_epics, people, per_phone):
        epic, person = values["epic"], (values["mobile"], values["full_name"])
        if epic and epic in self.seen_epics:
            return "epic", str(_l("This voter ID appears twice in the file."))
        if epic and epic in taken_epics:
            return "epic", str(_l("This voter ID is already registered."))
        if person in self.seen_people:
            return "full_name", str(_l("The same name and mobile appear twice in the file."))
        if person in people:
            return "full_name", str(_l("A member with this name and mobile is already "
                                       "registered."))
        if per_phone[values["mobile"]] + self.phones[values["mobile"]] >= self.cap:
            return "mobile", str(_l("This mobile number already has %(n)s members, the most "
                                    "allowed for one phone.", n=self.cap))
        return None

    def _clean(self, row: dict) -> dict:
        relation = _RELATIONS.get(self.value(row, "relation").lower(), "father")
        gender = _GENDERS.get(self.value(row, "gender").lower())
        if gender is None:
            raise ValidationError(_l("Choose a gender."), field="gender")
        data = member_service.MemberInput(
            full_name=self.value(row, "full_name"),
            relative_name=self.value(row, "relative_name"), relation=relation, gender=gender,
            date_of_birth=self._birth(row), mobile=self.value(row, "mobile"),
            epic=self.value(row, "epic"), address=self.value(row, "address"),
            booth_no=self.value(row, "booth_no"), block_id=None,
            fee_receipt_no=self.value(row, "fee_receipt_no"))
        values = member_service.clean(data, today=self.today)
        # A bulk insert: the keys the model keeps on ORM writes are added here.
        return values | self._place(row) | phonetic.member_keys(values)

    def _birth(self, row: dict) -> date | None:
        text = self.value(row, "date_of_birth")
        for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
            try:
                return datetime.strptime(text, pattern).date()
            except ValueError:
                continue
        if text:
            raise ValidationError(_l("Write the date of birth as dd/mm/yyyy."),
                                  field="date_of_birth")
        age = self.value(row, "age")
        if re.fullmatch(r"[0-9]{1,3}", age):  # age only: 1 July of the year it implies
            return date(self.today.year - int(age), 7, 1)
        return None

    def _place(self, row: dict) -> dict:
        block = self.unit if self.unit.level == "block" else self.blocks.get(
            "block:" + self.value(row, "block").lower())
        if block is None:
            raise ValidationError(_l("Write a block of this district (its name or code)."),
                                  field="block")
        zone = None
        if self.value(row, "zone"):
            zone = self.blocks.get("zone:" + self.value(row, "zone").lower())
            if zone is None or zone.parent_id != block.id:
                raise ValidationError(_l("Choose a zone of the chosen block."), field="zone")
        if block.id not in self.ancestors:
            self.ancestors[block.id] = ancestors(block)
        up = self.ancestors[block.id]
        return {"division_id": up["division"], "district_id": up["district"],
                "block_id": block.id, "zone_id": zone.id if zone else None}


def _one_of(column, values: list[str]):
    """column IN values; on PostgreSQL as = ANY(one array parameter), which psycopg sends
    without parsing a statement of thousands of placeholders per chunk."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(values, ARRAY(String)))
    return column.in_(values)


def _insert_members(rows: list[dict]) -> None:
    """Bulk insert: PostgreSQL's COPY (the tally and daily triggers fire per statement),
    else one executemany. The import is audited as a batch (import.commit)."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        db.session.execute(insert(Member), rows, execution_options={"audited": True})
        return
    columns = list(rows[0])
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(
            f"COPY member ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def _use_indexes() -> None:
    """Within this transaction, look duplicates up by index whatever the planner's
    statistics say: a commit grows the member table by thousands of rows per chunk
    before any ANALYZE can see them, and a sequential scan per chunk turns the
    import quadratic (seen on a fresh database: 0.7 s per chunk and rising)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))


def headings(batch: ImportBatch) -> list[str]:
    """The uploaded file's column headings ([] once retention removed the file)."""
    if batch.file_deleted_at is not None:
        return []
    with storage.local_copy(batch.stored_path) as path:
        return import_files.headings(path)


def _chunks(batch: ImportBatch):
    chunk = []
    with storage.local_copy(batch.stored_path) as path:
        for number, row in import_files.rows(path):
            chunk.append((number, row))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _batch_for(actor, batch_id: int) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    unit = db.session.get(Unit, batch.unit_id) if batch is not None else None
    if batch is None or not unit_in_scope(actor, MEMBER_IMPORT, unit):
        raise NotFound(_l("No such import in your units."))
    return batch


def check(actor, batch_id: int, *, progress: Callable[[int], None] | None = None) -> ImportBatch:
    """The dry run: every problem with its row number; no member is written."""
    batch = _batch_for(actor, batch_id)
    if batch.status in ("committing", "committed"):
        raise ServiceError(_l("This import was already committed."))
    db.session.execute(delete(ImportProblem).where(ImportProblem.batch_id == batch.id))
    _use_indexes()
    checker = Checker(batch, date.today())
    total = valid = 0
    for chunk in _chunks(batch):
        good, problems = checker.check_chunk(chunk)
        total, valid = total + len(chunk), valid + len(good)
        if problems:
            db.session.execute(insert(ImportProblem), [
                {"batch_id": batch.id, "row_no": n, "field": f, "reason": r}
                for n, f, r in problems])
        if progress:
            progress(total)
        if total > import_files.MAX_ROWS:
            raise ValidationError(import_files.TOO_MANY_ROWS, field="file")
    batch.status, batch.total_rows, batch.valid_rows = "checked", total, valid
    batch.rejected_rows = total - valid
    audit.record("import.check", entity_type="import", entity_id=batch.id,
                 unit_id=batch.unit_id, actor=actor,
                 details={"rows": total, "valid": valid, "rejected": total - valid})
    return batch


def commit(actor, batch_id: int, *, progress: Callable[[int], None] | None = None) -> int:
    """Insert every row that is still valid, in the caller's one transaction."""
    batch = _batch_for(actor, batch_id)
    if batch.status != "checked":
        raise ServiceError(_l("Run the check (dry run) first."))
    _use_indexes()
    checker, now, written, seen = Checker(batch, date.today()), utcnow(), 0, 0
    for chunk in _chunks(batch):
        good, _problems = checker.check_chunk(chunk)
        seen += len(chunk)
        if good:
            rows = [values | {"channel": "paper", "status": "recorded",
                              "recorded_by_id": actor.id, "import_batch_id": batch.id,
                              "consent_notice_version": "paper", "consent_at": now,
                              "created_at": now, "updated_at": now} for values in good]
            _insert_members(rows)
            written += len(rows)
        if progress:
            progress(seen)
    first_id = db.session.scalar(select(func.min(Member.id)).where(
        Member.import_batch_id == batch.id))
    for member_id, block_id in db.session.execute(select(Member.id, Member.block_id).where(
            Member.import_batch_id == batch.id).order_by(Member.id)):
        # One event per member as well: it carries the row's state (audit.state).
        audit.record("member.import", entity_type="member", entity_id=member_id,
                     unit_id=block_id, actor=actor, details={"batch": batch.id})
    search.flag_batch_duplicates(batch.id, actor)
    batch.status, batch.committed_rows, batch.committed_at = "committed", written, now
    audit.record("import.commit", entity_type="import", entity_id=batch.id,
                 unit_id=batch.unit_id, actor=actor,
                 details={"rows": written, "sha256": batch.sha256, "first_member": first_id,
                          "receipt_books": batch.receipt_books})
    return written


def problems_csv(batch: ImportBatch) -> str:
    """Every refused row with its reason, for the uploader to correct the forms."""
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    writer.writerow(["row", "field", "reason"])
    for problem in db.session.scalars(select(ImportProblem).where(
            ImportProblem.batch_id == batch.id).order_by(ImportProblem.row_no)):
        writer.writerow([problem.row_no, problem.field or "", problem.reason])
    return "\ufeff" + buffer.getvalue()
