"""Audit reports at 10k and 1M members: each report's time per role, against counting
the same members (the least any report over them must do), in the same run.

    BACKOFFICE_ENV=development .venv/bin/python benchmarks/audit_reports.py [--repeat 7]

Uses the databases benchmarks/generate_members.py builds (`bench_small`, `bench`),
migrated to the current head. Window: the last 7 days (AUDIT_REPORT_DAYS).
"""

from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import func, select

from backoffice import create_app
from backoffice.extensions import db
from backoffice.models import Member, StaffUser, utcnow
from backoffice.services import audit_reports as reports

BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/"
ROLES = {"state_admin": "admin@demo.sadasya.in",
         "district_president": "district.bilaspur@demo.sadasya.in"}


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def cases(user, window, config) -> dict:
    return {
        "signups per day": lambda: reports.signups_per_enroller(user, window),
        "night bursts": lambda: reports.odd_hour_bursts(
            user, window, min_signups=config["AUDIT_BURST_MIN_SIGNUPS"],
            night=config["AUDIT_NIGHT_HOURS"]),
        "shared phones": lambda: reports.shared_phones(
            user, window, min_members=config["AUDIT_SHARED_PHONE_MIN"]),
        "consecutive numbers": lambda: reports.consecutive_phone_runs(
            user, window, min_run=config["AUDIT_PHONE_RUN_MIN"]),
        "voter IDs again": lambda: reports.epic_duplicate_attempts(user, window),
        "phone checks": lambda: reports.otp_outcomes(user, window),
    }


def measure(database: str, repeat: int) -> None:
    app = create_app({"ENV": "development", "SQLALCHEMY_DATABASE_URI": BASE + database})
    config = app.config
    with app.app_context(), app.test_request_context():
        total = db.session.scalar(select(func.count()).select_from(Member))
        window = reports.Window.last_days(config["AUDIT_REPORT_DAYS"], utcnow())
        print(f"\n== {database}: {total:,} members, last {config['AUDIT_REPORT_DAYS']} days ==")
        print(f"{'role':<20} {'report':<24} {'median ms':>9} {'baseline ms':>11} {'ratio':>6}")
        for role, email in ROLES.items():
            user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
            baseline = timed(lambda user=user: db.session.scalar(
                select(func.count()).select_from(Member).where(reports._scope(user, window))),
                repeat)
            for name, case in cases(user, window, config).items():
                case()  # warm
                ms = timed(case, repeat)
                print(f"{role:<20} {name:<24} {ms:9.1f} {baseline:11.1f} {ms / baseline:6.1f}x")
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    for database in ("bench_small", "bench"):
        measure(database, args.repeat)


if __name__ == "__main__":
    main()
