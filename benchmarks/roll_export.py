"""Roll exports at a million members: CSV against PostgreSQL's own COPY of the same rows,
and the worker's memory growth; XLSX and the per-booth PDF ZIP for their rate and memory.

    BACKOFFICE_ENV=development .venv/bin/python benchmarks/roll_export.py \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench] [--repeat 3] \
        [--xlsx-rows 200000] [--pdf-rows 20000]

Freezes a state-wide roll of the `bench` database (benchmarks/generate_members.py),
then, each --repeat times: COPY (SELECT the export's columns ... ORDER BY booth, serial)
TO STDOUT into a discarded sink (the baseline), and the app's CSV export (COPY passed
through to a temporary file, SHA-256, audit event, manifest). Prints rows/s of both,
their ratio (target >= 0.40) and the peak RSS growth of this process (target < 100 MB).
The roll is deleted afterwards.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from datetime import date

from sqlalchemy import delete, select

from backoffice import create_app
from backoffice.extensions import db
from backoffice.models import Roll, RollEntry, StaffUser, Unit
from backoffice.services import roll_exports, rolls

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Resident memory now; resets the peak so peak_mb() measures from here (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def peak_mb() -> float:
    return _status_mb("VmHWM")


def copy_baseline(roll_id: int) -> tuple[float, int]:
    columns = ", ".join(roll_exports.COLUMNS)
    sql = (f"COPY (SELECT {columns} FROM roll_entry WHERE roll_id = {roll_id} AND NOT removed "  # noqa: S608
           "ORDER BY booth_key, booth_no, serial) TO STDOUT WITH (FORMAT csv)")
    raw = db.session.connection().connection.driver_connection
    started, lines = time.perf_counter(), 0
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for chunk in copy:
            lines += bytes(chunk).count(b"\n")
    return time.perf_counter() - started, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=URL)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--pdf-rows", type=int, default=20_000)
    args = parser.parse_args()
    app = create_app({"ENV": "development", "SQLALCHEMY_DATABASE_URI": args.database_url})
    with app.app_context(), app.test_request_context():
        admin = db.session.scalar(select(StaffUser).where(
            StaffUser.email == "admin@demo.sadasya.in"))
        state = db.session.scalar(select(Unit).where(Unit.level == "state"))
        roll = rolls.create(admin, state, date.today(), "benchmark roll")
        started = time.perf_counter()
        entries = rolls.freeze(admin, roll.id)
        db.session.commit()
        print(f"freeze: {entries:,} entries in {time.perf_counter() - started:.1f} s")
        try:
            report(admin, roll, args)
        finally:
            db.session.rollback()
            db.session.execute(delete(RollEntry).where(RollEntry.roll_id == roll.id))
            db.session.execute(delete(Roll).where(Roll.id == roll.id),
                               execution_options={"audited": True})
            db.session.commit()
            db.engine.dispose()


def report(admin, roll, args) -> None:
    base_times, app_times, growth = [], [], []
    rows = 0
    for _ in range(args.repeat):
        seconds, rows = copy_baseline(roll.id)
        base_times.append(seconds)
        before = rss_mb()
        started = time.perf_counter()
        made = roll_exports.export(admin, roll, "csv")
        db.session.commit()
        roll_exports.sign(roll, made)
        app_times.append(time.perf_counter() - started)
        growth.append(peak_mb() - before)
        made.path.unlink()
    base, ours = statistics.median(base_times), statistics.median(app_times)
    print(f"CSV, {rows:,} rows, median of {args.repeat}:")
    print(f"  PostgreSQL COPY TO STDOUT (baseline): {base:6.2f} s = {rows / base:10,.0f} rows/s")
    print(f"  app export (file, SHA-256, audit):    {ours:6.2f} s = {rows / ours:10,.0f} rows/s")
    print(f"  ratio app/COPY: {base / ours:.2f} (target >= 0.40)")
    print(f"  peak RSS growth during exports: {max(growth):.1f} MB (target < 100 MB)")
    for kind, limit in (("xlsx", args.xlsx_rows), ("pdf-zip", args.pdf_rows)):
        subset = rolls.create(admin, db.session.get(Unit, roll.unit_id), roll.cut_off,
                              f"benchmark {kind}")
        db.session.flush()
        db.session.execute(RollEntry.__table__.insert().from_select(
            [c for c in RollEntry.__table__.columns.keys() if c != "id"],
            select(*[(db.literal(subset.id) if c == "roll_id" else RollEntry.__table__.c[c])
                     for c in RollEntry.__table__.columns.keys() if c != "id"])
            .where(RollEntry.roll_id == roll.id).order_by(RollEntry.id).limit(limit)))
        subset.status = "frozen"
        db.session.commit()
        before, started = rss_mb(), time.perf_counter()
        made = roll_exports.export(admin, subset, kind)
        db.session.commit()
        seconds = time.perf_counter() - started
        print(f"{kind}: {made.rows:,} rows in {seconds:.1f} s = {made.rows / seconds:,.0f} "
              f"rows/s, file {made.path.stat().st_size / 1e6:.1f} MB, "
              f"peak RSS growth {peak_mb() - before:.1f} MB")
        made.path.unlink()
        db.session.execute(delete(RollEntry).where(RollEntry.roll_id == subset.id))
        db.session.execute(delete(Roll).where(Roll.id == subset.id),
                           execution_options={"audited": True})
        db.session.commit()


if __name__ == "__main__":
    main()
