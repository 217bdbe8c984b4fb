"""Paper imports at scale: 400,000 rows validated and committed, against a raw COPY of
the same member rows in the same run.

    BACKOFFICE_ENV=development .venv/bin/python benchmarks/import_rows.py \
        [--rows 400000] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_import]

Builds a fresh database (the hierarchy and demo logins, no members), writes a
CSV of N paper forms in Hindi and English (valid mobiles and EPICs), then times
imports.check (the dry run) and imports.commit (every row checked again and
inserted in one transaction). The baseline is psycopg's COPY of the very rows
the commit inserted, into an empty copy of the member table. Target: check +
commit of 400,000 rows in 60 s or less on PostgreSQL.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from datetime import date
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from backoffice import create_app
from backoffice.extensions import db
from backoffice.models import Member, StaffUser, Unit
from backoffice.services import demo, imports

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_import"


def fresh(url: str) -> None:
    name = make_url(url).database
    if name == "test":
        raise SystemExit("refusing to use the test suite's database")
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def write_forms(path: Path, rows: int, blocks: list[str]) -> None:
    factory = demo.MemberFactory(seed=5, today=date.today(), epic_start=3_000_000)
    rng = random.Random(5)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["नाम", "पिता/पति का नाम", "संबंध", "लिंग", "जन्म तिथि", "मोबाइल", "EPIC",
                         "पता", "बूथ", "ब्लॉक"])
        for n in range(rows):
            gender = "महिला" if rng.random() < 0.42 else "पुरुष"
            script = "hi" if rng.random() < 0.55 else "en"
            kind = "female" if gender == "महिला" else "male"
            name = (f"{rng.choice(factory.names[(script, kind)])} "
                    f"{rng.choice(factory.names[(script, 'last')])}")
            writer.writerow([name, rng.choice(factory.names[(script, "male")]), "पिता", gender,
                             f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/"
                             f"{rng.randint(1950, 2004)}", factory.mobile()[3:],
                             f"PPR{n:07d}", "ग्राम", str(rng.randint(1, 200)), rng.choice(blocks)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--database-url", default=URL)
    args = parser.parse_args()
    fresh(args.database_url)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"ENV": "development", "SQLALCHEMY_DATABASE_URI": args.database_url,
                          "INSTANCE_PATH": tmp, "MAX_MEMBERS_PER_PHONE": 10 ** 6,
                          "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 8,
                                            "parallelism": 1}})
        with app.app_context(), app.test_request_context():
            upgrade()
            units = demo.load_hierarchy()
            demo.create_demo_staff(units, "x")
            db.session.commit()
            district = units["DIST-BILASPUR"]
            blocks = [u.name_en for u in units.values() if u.parent_id == district.id]
            forms = Path(tmp) / "forms.csv"
            started = time.perf_counter()
            write_forms(forms, args.rows, blocks)
            print(f"{args.rows:,} forms written in {time.perf_counter() - started:.1f} s")
            actor = db.session.scalar(select(StaffUser).where(
                StaffUser.email == "district.bilaspur@demo.sadasya.in"))
            batch = imports.upload(actor, db.session.get(Unit, district.id),
                                   forms.read_bytes(), "forms.csv", "1-4000")
            db.session.commit()
            started = time.perf_counter()
            imports.check(actor, batch.id)
            db.session.commit()
            checked = time.perf_counter() - started
            started = time.perf_counter()
            written = imports.commit(actor, batch.id)
            db.session.commit()
            committed = time.perf_counter() - started
            baseline = copy_baseline(batch.id)
            db.engine.dispose()
    total = checked + committed
    print(f"check (dry run): {checked:6.1f} s = {args.rows / checked:9,.0f} rows/s")
    print(f"commit:          {committed:6.1f} s = {written / committed:9,.0f} rows/s "
          f"({written:,} members)")
    print(f"check + commit:  {total:6.1f} s (target <= 60 s for 400,000 rows)")
    print(f"raw COPY of the same {written:,} rows: {baseline:6.1f} s = "
          f"{written / baseline:9,.0f} rows/s; commit/COPY time ratio {committed / baseline:.1f}x")


def copy_baseline(batch_id: int) -> float:
    """COPY the inserted rows out and into an empty clone of member: the floor."""
    columns = [c.name for c in Member.__table__.columns if c.name != "id"]
    listing = ", ".join(columns)
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE member_copy (LIKE member INCLUDING DEFAULTS)")
        buffer = bytearray()
        with cursor.copy(f"COPY (SELECT {listing} FROM member WHERE import_batch_id = "  # noqa: S608
                         f"{int(batch_id)}) TO STDOUT") as copy:
            for chunk in copy:
                buffer += chunk
        started = time.perf_counter()
        with cursor.copy(f"COPY member_copy ({listing}) FROM STDIN") as copy:
            copy.write(bytes(buffer))
        seconds = time.perf_counter() - started
    raw.rollback()
    return seconds


if __name__ == "__main__":
    main()
