"""Build a PostgreSQL database of N synthetic members for the list benchmarks.

    # 1,000,000 members in the database `bench` (created if missing):
    BACKOFFICE_ENV=development .venv/bin/python benchmarks/generate_members.py

    # 10,000 members in `bench_small`, the baseline member_list.py compares against:
    BACKOFFICE_ENV=development .venv/bin/python benchmarks/generate_members.py \
        --members 10000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_small

The target database's public schema is DROPPED and rebuilt by the app's own
migrations (flask_migrate.upgrade), so point it only at a throwaway database;
the script refuses a database named `test` (the test suite's). Then, as
`backoffice demo` does: the hierarchy (load_hierarchy), the demo logins
(create_demo_staff, password `demo-pass-2026`) and two synthetic enrollers per
block (create_enrollers). Members are made by the app's own MemberFactory
(Hindi/English names, valid Indian mobiles, unique EPICs, the demo's status
mix and six weeks of timestamps) in --workers processes, each block picked at
random per row with the demo's weights (Bilaspur division's real blocks x4),
so every block's rows are spread over the whole heap as they are in
production. Rows go in with psycopg 3 ``COPY member (...) FROM STDIN`` into
the migrated table, its indexes in place, then ``VACUUM (ANALYZE)``
(--no-vacuum: ANALYZE only). The server this was written on runs with
autovacuum off; in production autovacuum would have set the visibility map
that index-only scans rely on soon after the load, hence the VACUUM.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections import namedtuple
from datetime import date, datetime

import psycopg
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from backoffice import create_app
from backoffice.auth.passwords import hash_password
from backoffice.extensions import db
from backoffice.models import RoleAssignment, Unit
from backoffice.services import demo
from backoffice.services import units as unit_service

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
CHEAP_HASH = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
CHUNK = 20_000
EPIC_BASE = 1_000_000  # EPICs read XXX + 7 digits: unique numbers 1,000,000 .. 9,999,999

# The columns MemberFactory.member() fills, in COPY order (id comes from the sequence).
COLUMNS = (
    "full_name", "relative_name", "relation", "gender", "date_of_birth", "mobile", "epic",
    "address", "booth_no", "division_id", "district_id", "block_id", "zone_id", "channel",
    "status", "consent_notice_version", "consent_at", "created_at", "updated_at",
    "fee_receipt_no", "verified_at", "verified_by_id", "approved_at", "approved_by_id",
    "rejected_at", "rejected_by_id", "status_reason", "recorded_by_id", "search_key",
    "duplicate_key",
)

BlockInfo = namedtuple("BlockInfo", "id name_hi")  # what MemberFactory.member reads of a block


def app_config(url: str) -> dict:
    # DATABASE_URL wins over SQLALCHEMY_DATABASE_URI in settings._derive, and could
    # come from instance/config.py or BACKOFFICE_DATABASE_URL: set both.
    return {"ENV": "development", "SECRET_KEY": "bench-secret", "DATABASE_URL": url,
            "SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH": CHEAP_HASH,
            "RATELIMIT_STORAGE_URI": "memory://"}


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(url: str) -> None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        sys.exit("generate_members.py builds PostgreSQL databases only (COPY).")
    if parsed.database in (None, "", "test", "postgres", "template0", "template1"):
        sys.exit(f"Refusing to rebuild database {parsed.database!r}: use a throwaway one.")
    admin = libpq_url(str(parsed.set(database="postgres")))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                        (parsed.database,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{parsed.database}"')
            print(f"created database {parsed.database}")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


# --- member rows, made in worker processes ------------------------------------------------

_WORK: dict = {}


def _init_worker(work: dict) -> None:
    _WORK.update(work)


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return (value.replace("\\", "\\\\").replace("\t", "\\t")
                .replace("\n", "\\n").replace("\r", "\\r"))
    return str(value)


def make_chunk(task: tuple[int, int]) -> bytes:
    """Rows ``index*CHUNK ..`` as COPY text, from a MemberFactory seeded for this chunk."""
    index, size = task
    w = _WORK
    factory = demo.MemberFactory(w["seed"] * 1_000_003 + index, w["today"],
                                 EPIC_BASE + index * CHUNK)
    lines = []
    for block in factory.rng.choices(w["blocks"], weights=w["weights"], k=size):
        row = factory.member(block, w["ancestors"][block.id], w["zones"].get(block.id, []),
                             w["enrollers"][block.id], w["approvers"].get(block.id))
        lines.append("\t".join(_copy_text(row[column]) for column in COLUMNS))
    return ("\n".join(lines) + "\n").encode()


# --- the build ------------------------------------------------------------------------------

def build(url: str, members: int, workers: int, seed: int, vacuum: bool) -> None:
    ensure_database(url)
    app = create_app(app_config(url))
    with app.app_context(), app.test_request_context():
        assert db.engine.url.database == make_url(url).database, db.engine.url
        started = time.perf_counter()
        upgrade()
        by_code = demo.load_hierarchy()
        demo.create_demo_staff(by_code, app.config["DEMO_PASSWORD"])
        db.session.commit()
        blocks = list(db.session.scalars(
            select(Unit).where(Unit.level == "block").order_by(Unit.id)))
        zones: dict[int, list[int]] = {}
        for zone in db.session.scalars(select(Unit).where(Unit.level == "zone")):
            zones.setdefault(zone.parent_id, []).append(zone.id)
        approvers = dict(db.session.execute(
            select(RoleAssignment.unit_id, RoleAssignment.user_id)
            .where(RoleAssignment.role == "block_president")).all())
        enrollers = demo.create_enrollers(blocks, hash_password(app.config["DEMO_PASSWORD"]))
        db.session.commit()
        work = {
            "seed": seed, "today": date.today(),
            "blocks": [BlockInfo(b.id, b.name_hi) for b in blocks],
            "weights": [1 if b.is_generated else 4 for b in blocks],
            "ancestors": {b.id: unit_service.ancestors(b) for b in blocks},
            "zones": zones, "approvers": approvers, "enrollers": enrollers,
        }
        units = db.session.scalar(select(func.count()).select_from(Unit))
        print(f"schema + {units} units + {len(blocks)} blocks' enrollers + demo staff: "
              f"{time.perf_counter() - started:.1f} s")
        db.session.remove()
        db.engine.dispose()

    tasks = [(i, min(CHUNK, members - i * CHUNK)) for i in range((members + CHUNK - 1) // CHUNK)]
    copy_sql = f"COPY member ({', '.join(COLUMNS)}) FROM STDIN"
    started = time.perf_counter()
    done = 0
    with psycopg.connect(libpq_url(url)) as conn:
        with conn.cursor() as cursor, cursor.copy(copy_sql) as copy, \
                multiprocessing.get_context("fork").Pool(
                    workers, initializer=_init_worker, initargs=(work,)) as pool:
            for (_, size), data in zip(tasks, pool.imap(make_chunk, tasks), strict=True):
                copy.write(data)
                done += size
                if done % 200_000 < CHUNK or done == members:
                    elapsed = time.perf_counter() - started
                    print(f"  {done:>9,} rows  {elapsed:6.1f} s  {done / elapsed:8,.0f} rows/s",
                          flush=True)
        conn.commit()
    loaded = time.perf_counter() - started
    print(f"generate + COPY: {members:,} members in {loaded:.1f} s = "
          f"{members / loaded:,.0f} rows/s ({workers} generator processes)")

    started = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) member" if vacuum else "ANALYZE member")
        conn.execute("ANALYZE")  # the small tables too
        total = conn.execute("SELECT count(*) FROM member").fetchone()[0]
        size = conn.execute(
            "SELECT pg_size_pretty(pg_relation_size('member')), "
            "pg_size_pretty(pg_indexes_size('member'))").fetchone()
    print(f"{'VACUUM (ANALYZE)' if vacuum else 'ANALYZE'}: {time.perf_counter() - started:.1f} s."
          f" member: {total:,} rows, heap {size[0]}, indexes {size[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--workers", type=int, default=2,
                        help="processes running MemberFactory (default 2)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-vacuum", dest="vacuum", action="store_false",
                        help="ANALYZE only: leave the visibility map unset")
    args = parser.parse_args()
    if not 0 < args.members <= 8_000_000:
        sys.exit("--members must be between 1 and 8,000,000 (EPIC numbers are 7 digits)")
    build(args.database_url, args.members, max(1, args.workers), args.seed, args.vacuum)


if __name__ == "__main__":
    main()
