"""Seeding rate: `backoffice demo`'s member generator against a raw bulk insert.

    BACKOFFICE_ENV=development .venv/bin/python benchmarks/seed.py --members 100000 \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Both runs go into a fresh, migrated database (SQLite in a temp dir by
default; the PostgreSQL database's public schema is dropped and recreated).
The baseline inserts the same rows, already generated, with one executemany
per batch; the ratio is seeding time / baseline time, medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from flask_migrate import upgrade
from sqlalchemy import create_engine, delete, insert, text

from backoffice import create_app
from backoffice.extensions import db
from backoffice.models import Member, RoleAssignment, StaffUser
from backoffice.services import demo


def fresh_app(url: str | None, tmp: str):
    url = url or f"sqlite:///{tmp}/bench.sqlite3"
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"ENV": "development", "SQLALCHEMY_DATABASE_URI": url,
                      "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}})
    with app.app_context():
        upgrade()
        demo.load_hierarchy()
        db.session.commit()
    return app


SCAFFOLD = {"audited": True}  # benchmark set-up and tear-down, not the app's writes


def clear(*, staff: bool) -> None:
    db.session.execute(delete(Member), execution_options=SCAFFOLD)
    if staff:  # seeding creates its synthetic enrollers anew each run
        db.session.execute(delete(RoleAssignment), execution_options=SCAFFOLD)
        db.session.execute(delete(StaffUser), execution_options=SCAFFOLD)
    db.session.commit()


def run(app, members: int) -> tuple[float, float]:
    with app.app_context(), app.test_request_context():
        clear(staff=True)
        started = time.perf_counter()
        demo.seed_members(members)
        db.session.commit()
        seeding = time.perf_counter() - started
        rows = [dict(row._mapping) for row in db.session.execute(
            Member.__table__.select()).all()]
        clear(staff=False)
        started = time.perf_counter()
        for i in range(0, len(rows), demo.BATCH):
            db.session.execute(insert(Member.__table__), rows[i:i + demo.BATCH],
                               execution_options=SCAFFOLD)
        db.session.commit()
        return seeding, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = fresh_app(args.database_url, tmp)
        results = [run(app, args.members) for _ in range(args.repeat)]
    seeding = statistics.median(r[0] for r in results)
    baseline = statistics.median(r[1] for r in results)
    dialect = "postgresql" if (args.database_url or "").startswith("postgresql") else "sqlite"
    print(f"{dialect}: {args.members} members, median of {args.repeat}")
    print(f"  seeding (generate + validate + insert): {seeding:6.2f} s "
          f"= {args.members / seeding:9,.0f} rows/s")
    print(f"  baseline (insert pre-built rows):       {baseline:6.2f} s "
          f"= {args.members / baseline:9,.0f} rows/s")
    print(f"  ratio seeding/baseline: {seeding / baseline:.2f}x")


if __name__ == "__main__":
    main()
