"""What the audit log costs a signup: recording a member with and without its event.

    BACKOFFICE_ENV=development .venv/bin/python benchmarks/audit_overhead.py \
        [--members 300] [--rounds 5] \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_audit]

Each signup is services.members.record() and a commit, one transaction per
member as in the enroller's form. "without" detaches the audit hooks from
the session (no event, no chain); "with" is the app as it runs. Rounds
alternate, so both see the same machine; medians of per-member times and the
ratio are printed. The target (issue 5) is a ratio of at most 1.5.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date

from flask_migrate import upgrade
from flask_sqlalchemy.session import Session
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

from backoffice import create_app
from backoffice.audit import capture
from backoffice.extensions import db
from backoffice.models import RoleAssignment, StaffUser, Unit
from backoffice.services import demo
from backoffice.services import members as member_service

HOOKS = [("after_flush", capture._after_flush), ("before_commit", capture._before_commit),
         ("after_rollback", capture._after_rollback), ("do_orm_execute", capture._check_bulk)]


def fresh_database(url: str | None, tmp: str) -> str:
    if not url:
        return f"sqlite:///{tmp}/audit-bench.sqlite3"
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = make_url(url).database
    if name == "test":
        raise SystemExit("refusing to use the test suite's database")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


def hooks(attached: bool) -> None:
    for name, hook in HOOKS:
        present = event.contains(Session, name, hook)
        if attached and not present:
            event.listen(Session, name, hook)
        elif not attached and present:
            event.remove(Session, name, hook)


def signups(enroller_id: int, block_id: int, start: int, count: int) -> list[float]:
    times = []
    for n in range(start, start + count):
        data = member_service.MemberInput(
            full_name="परीक्षण सदस्य", relative_name="परीक्षण पिता", relation="father",
            gender="female", date_of_birth=date(1990, 1, 1),
            mobile=f"+9198{n:08d}"[:13], epic=f"BNC{n:07d}", address="ग्राम", booth_no="1",
            block_id=block_id)
        enroller = db.session.get(StaffUser, enroller_id)
        began = time.perf_counter()
        member_service.record(enroller, data, channel="enroller", notice_version="v")
        db.session.commit()
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=300, help="per round and mode")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(args.database_url, tmp)
        app = create_app({"ENV": "development", "SQLALCHEMY_DATABASE_URI": url,
                          "MAX_MEMBERS_PER_PHONE": 10 ** 6,
                          "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 8,
                                            "parallelism": 1}})
        with app.app_context(), app.test_request_context():
            upgrade()
            demo.load_hierarchy()
            demo.create_demo_staff(demo.load_hierarchy(), "x")
            db.session.commit()
            block = db.session.scalar(select(Unit).where(Unit.code == "BLK-BILHA"))
            enroller = db.session.scalar(select(RoleAssignment.user_id).where(
                RoleAssignment.role == "enroller", RoleAssignment.unit_id == block.id))
            results = {"with": [], "without": []}
            start = 0
            for _round in range(args.rounds):
                for mode in ("without", "with"):
                    hooks(mode == "with")
                    results[mode] += signups(enroller, block.id, start, args.members)
                    start += args.members
            hooks(True)
            db.engine.dispose()
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    without = statistics.median(results["without"]) * 1000
    with_audit = statistics.median(results["with"]) * 1000
    print(f"{dialect}: {args.rounds} rounds x {args.members} signups per mode, "
          f"median ms per signup (record + commit)")
    print(f"  without audit: {without:7.2f} ms")
    print(f"  with audit:    {with_audit:7.2f} ms")
    print(f"  ratio with/without: {with_audit / without:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
