"""`backoffice audit verify --state` at 1M members: its time and peak memory against a
plain streamed read of the same rows and events, measured in the same run.

    # 1,000,000 members in `bench` (benchmarks/generate_members.py), then:
    BACKOFFICE_ENV=development .venv/bin/python benchmarks/generate_members.py
    BACKOFFICE_ENV=development .venv/bin/python benchmarks/audit_state.py

generate_members.py loads members by COPY and writes no member events, like a
register recorded before states were kept. So the script first runs
`backoffice audit baseline-state` once (timed: the one-off upgrade step; it
writes one event per member, with its state), then measures, each in a fresh
process so that its peak RSS is its own:

- read: the member rows (the columns the digest covers) and the member events,
  both streamed in id order as the check reads them, with nothing computed;
- state: `verify_state`, what `backoffice audit verify --state` runs (read, digest
  each row, merge, judge).

Target: state under 2 minutes at 1M, with a peak RSS that does not grow with the
number of members (compare --database-url of a 10k database).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from sqlalchemy import func, select

from backoffice import create_app
from backoffice.audit import state as row_state
from backoffice.extensions import db
from backoffice.models import AuditEvent, Member

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"


def app_for(url: str):
    return create_app({"ENV": "development", "SECRET_KEY": "bench-secret", "DATABASE_URL": url,
                       "SQLALCHEMY_DATABASE_URI": url})


def read_only() -> dict:
    rows = events = 0
    result = row_state._rows(db.session, None, None)
    for _ in result:
        rows += 1
    result.close()
    result = row_state._stream(db.session, (
        select(AuditEvent.entity_id, AuditEvent.seq, AuditEvent.action, AuditEvent.details)
        .where(AuditEvent.entity_type == "member", AuditEvent.entity_id.is_not(None))
        .order_by(AuditEvent.entity_id, AuditEvent.seq)))
    for _ in result:
        events += 1
    result.close()
    return {"rows": rows, "events": events}


def state_check() -> dict:
    counts: dict = {}
    findings = sum(1 for _ in row_state.verify_state(db.session, counts))
    return {"rows": counts["members"], "findings": findings}


def measure(url: str, what: str) -> None:
    """Child process: one measurement, printed as JSON."""
    app = app_for(url)
    with app.app_context():
        started = time.perf_counter()
        result = read_only() if what == "read" else state_check()
        result["seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def child(url: str, what: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--database-url", url, "--measure", what],  # noqa: S603 - this script, its own arguments
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def baseline(url: str) -> None:
    app = app_for(url)
    with app.app_context():
        members = db.session.scalar(select(func.count()).select_from(Member))
        done = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == row_state.BASELINE))
        db.session.remove()
        if done:
            print(f"{members:,} members; states already recorded ({done:,} baseline events)")
            return
        started = time.perf_counter()
        ran = app.test_cli_runner().invoke(
            args=["audit", "baseline-state", "--reason", "benchmark: states from now on"])
        if ran.exit_code:
            sys.exit(ran.output)
        print(f"baseline-state: {ran.output.strip()} in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--measure", choices=("read", "state"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.database_url, args.measure)
        return
    baseline(args.database_url)
    read, state = child(args.database_url, "read"), child(args.database_url, "state")
    print(f"{'':<10} {'seconds':>8} {'peak RSS MB':>12}  rows")
    print(f"{'read':<10} {read['seconds']:8.1f} {read['peak_rss_mb']:12.0f}  "
          f"{read['rows']:,} members, {read['events']:,} member events")
    print(f"{'state':<10} {state['seconds']:8.1f} {state['peak_rss_mb']:12.0f}  "
          f"{state['rows']:,} members, {state['findings']:,} named")
    print(f"state / read: {state['seconds'] / read['seconds']:.2f}x time, "
          f"{state['peak_rss_mb'] / read['peak_rss_mb']:.2f}x peak RSS")


if __name__ == "__main__":
    main()
