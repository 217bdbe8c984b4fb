"""Audit appends under concurrent writers on PostgreSQL: events/s of the chain as the app
writes it, against the same events written unchained and against the old design.

    BACKOFFICE_ENV=development .venv/bin/python benchmarks/audit_append.py \
        [--processes 4] [--threads 4] [--transactions 150] [--rounds 3] \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/auditbench_append]

Writers: --processes x --threads (16 by default, as gunicorn runs them: processes of
threads, each with its own pool). Each writer commits --transactions transactions
through the app's session, with 1, 2 or 3 events in turn (2 on average, like an
enrolment step: the member's creation, its phone check, the approval), each event
queued by ``audit.record`` as the services do. Modes, in turn within each round:

- ``unchained``: the events are written with the transaction into audit_pending
  and nothing chains them: what the database takes to commit the same rows (the
  ceiling; they are chained after the round, untimed);
- ``inline``: the old design: each transaction chains its own events under the
  head row's lock, held through its commit's WAL flush;
- ``deferred``: written into audit_pending with the transaction, chained right
  after it by one appender per process, many commits' events per chaining
  transaction; a writer's commit returns once its events are chained (what
  commands and jobs do);
- ``background``: the app's design for web requests on PostgreSQL: the same, but
  a writer's commit returns at once and a background thread of the process
  chains; the round ends when every event is chained (each process waits for its
  appender after its writers finish), so events/s counts the chaining too.

Prints the median events/s per mode and the ratios, then runs `backoffice audit
verify` on the database and prints its output. The database (never `test`) is
dropped and created afresh. Target (issue 16): background >= 1,000 events/s with 16
writers, and verify OK.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/auditbench_append"
MODES = ("unchained", "inline", "deferred", "background")


def fresh_database(url: str) -> None:
    name = make_url(url).database
    if name == "test":
        raise SystemExit("refusing to use the test suite's database")
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def config(url: str, threads: int) -> dict:
    return {"ENV": "development", "SECRET_KEY": "bench-secret-" + "x" * 32,
            "SQLALCHEMY_DATABASE_URI": url, "DATABASE_POOL_SIZE": threads + 2,
            "DATABASE_MAX_OVERFLOW": 2}


def writer_process(url: str, mode: str, threads: int, transactions: int, start, out) -> None:
    """One process of writer threads; puts (first start, last end, events) on ``out``."""
    from flask import g

    from backoffice import audit, create_app
    from backoffice.audit import chain
    from backoffice.extensions import db

    chain.DEFER_ON_POSTGRESQL = mode != "inline"
    if mode == "unchained":
        chain.settle = lambda engine: None
    app = create_app(config(url, threads))
    times, counts, errors = [], [], []

    def write(n: int) -> None:
        events = 0
        try:
            # A request, as a signup is: the web's time-outs, the request's context.
            with app.test_request_context("/bench", method="POST"):
                g.audit_chain_later = mode == "background"  # as before_request sets it
                db.session.execute(text("SELECT 1"))  # a pooled connection, warm
                db.session.rollback()
                start.wait()
                began = time.time()
                for i in range(transactions):
                    for k in range(1 + i % 3):
                        audit.record("bench.append", entity_type="member", entity_id=n,
                                     unit_id=1, details={"writer": n, "i": i, "k": k})
                    db.session.commit()
                    events += 1 + i % 3
                times.append((began, time.time()))
                counts.append(events)
        except Exception as error:  # noqa: BLE001 - reported to the parent
            errors.append(repr(error))

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with app.app_context():
        if mode == "background":  # the round ends when this process's events are chained
            if not chain.caught_up(db.engine, timeout=120):
                errors.append("the background appender did not catch up in 120 s")
            ended = time.time()
            times[:] = [(began, ended) for began, _ in times]
        appender = chain._appender(db.engine)  # noqa: SLF001 - the benchmark's own look
        rounds = (appender.rounds, appender.chained)
        db.engine.dispose()
    out.put((min((t[0] for t in times), default=0), max((t[1] for t in times), default=0),
             sum(counts), errors, rounds))


def run_mode(url: str, mode: str, processes: int, threads: int, transactions: int) -> float:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes * threads)
    out = context.Queue()
    children = [context.Process(target=writer_process,
                                args=(url, mode, threads, transactions, start, out))
                for _ in range(processes)]
    for child in children:
        child.start()
    results = [out.get() for _ in children]
    for child in children:
        child.join()
    errors = [e for r in results for e in r[3]]
    if errors:
        raise SystemExit(f"{mode}: {len(errors)} writers failed, e.g. {errors[0]}")
    began, ended = min(r[0] for r in results), max(r[1] for r in results)
    rounds, chained = sum(r[4][0] for r in results), sum(r[4][1] for r in results)
    if rounds:
        print(f"    {mode}: {rounds} chaining rounds, {chained / rounds:.1f} events each",
              flush=True)
    return sum(r[2] for r in results) / (ended - began)


def chain_leftovers(url: str) -> None:
    """Chain what the unchained mode left (untimed), as `backoffice audit chain` would."""
    from backoffice import create_app
    from backoffice.audit import chain
    from backoffice.extensions import db

    app = create_app(config(url, 1))
    with app.app_context():
        chain.chain_all(db.engine)
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="per process")
    parser.add_argument("--transactions", type=int, default=150, help="per writer and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--modes", default=",".join(MODES), help="a subset, comma-separated")
    args = parser.parse_args()
    modes = [mode for mode in MODES if mode in args.modes.split(",")]
    url = args.database_url
    fresh_database(url)
    from flask_migrate import upgrade

    from backoffice import create_app
    from backoffice.extensions import db

    app = create_app(config(url, 1))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    rates = {mode: [] for mode in modes}
    for number in range(args.rounds):
        for mode in modes:
            rate = run_mode(url, mode, args.processes, args.threads, args.transactions)
            rates[mode].append(rate)
            print(f"round {number + 1} {mode:9}: {rate:7.0f} events/s", flush=True)
            chain_leftovers(url)
    writers = args.processes * args.threads
    median = {mode: statistics.median(values) for mode, values in rates.items()}
    print(f"\n{writers} writers ({args.processes} processes x {args.threads} threads), "
          f"{args.transactions} transactions each per round, 2 events per transaction on "
          f"average; median of {args.rounds} rounds:")
    for mode in modes:
        print(f"  {mode:9}: {median[mode]:7.0f} events/s")
    for mode in ("deferred", "background"):
        for base in ("unchained", "inline"):
            if mode in median and base in median:
                print(f"  {mode:10} / {base:9}: {median[mode] / median[base]:.2f}x")
    print("  (target: the app's web design, background, >= 1,000 events/s)")
    backoffice = Path(sys.executable).with_name("backoffice")
    verify = subprocess.run(  # noqa: S603 - this venv's own command, no shell
        [str(backoffice), "audit", "verify"], capture_output=True, text=True, check=False,
        env=os.environ | {"BACKOFFICE_ENV": "development", "BACKOFFICE_DATABASE_URL": url})
    print(f"audit verify (exit {verify.returncode}): "
          f"{(verify.stdout + verify.stderr).strip()}")


if __name__ == "__main__":
    main()
