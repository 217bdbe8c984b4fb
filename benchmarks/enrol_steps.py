"""Statements and CPU per step of a browser enrolment, in process: exact counts for
each step of load.py's browser flow, without a server or the noise of many clients.

    # a database built as load.py builds it (rebuilt; --reuse keeps it), 20 enrolments:
    .venv/bin/python benchmarks/enrol_steps.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/load_bench \\
        --redis-url redis://127.0.0.1:6379/8 --count 20
    # and a cProfile (CPU time of this thread) of them, to read with pstats:
    .venv/bin/python benchmarks/enrol_steps.py --reuse --count 30 --profile /tmp/enrol.prof

The app is load_server.py's (the ordinary app, its file outbox, its per-request
figures in response headers) under Flask's test client; one enroller, logged in
once; three enrolments warm up first. Printed per step: statements (mean) and
the process's CPU ms (median; the test client's own work included). On
PostgreSQL the audit chain's round after a commit is counted with the request it
runs in (or beside).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

# This checkout's code (a worktree's too) and this directory's load.py and load_server.py.
sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]
import load  # noqa: E402 - its setup, the flows' data and patterns

STEPS = ("GET form", "POST create", "GET verify", "POST send", "GET verify 2", "POST check",
         "GET verify 3")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=load.DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=load.DEFAULT_REDIS)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--members", type=int, default=0,
                        help="synthetic members the rebuilt database starts with")
    parser.add_argument("--reuse", action="store_true", help="keep the database as it is")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the timed enrolments")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="enrol-steps-"))
    env = load.server_env(args.database_url, args.redis_url, tmp)
    if not args.reuse:
        load.reset_database(args.database_url)
    load.setup_database(env, tmp, 0 if args.reuse else args.members, 1)
    os.environ.update(env)
    import load_server  # noqa: PLC0415 - builds the app from the environment set above

    try:
        return run(load_server.app.test_client(), tmp / "outbox", args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(client, outbox: Path, args) -> int:
    def request(method, path, data=None):
        started = time.process_time()
        reply = client.open(path, method=method, data=data, headers={"Accept-Language": "hi"})
        return reply, (time.process_time() - started) * 1000

    def token(reply) -> str:
        found = load.CSRF_RE.search(reply.get_data(as_text=True))
        return found.group(1) or found.group(2)

    def location(reply) -> str:
        target = urllib.parse.urlsplit(reply.headers["Location"])
        return target.path + (f"?{target.query}" if target.query else "")

    reply, _ = request("GET", "/login")
    reply, _ = request("POST", "/login", {"csrf_token": token(reply), "next": "",
                                          "login": "load-enroller-0@bench.sadasya.in",
                                          "password": load.PASSWORD})
    if reply.status_code != 302:
        raise SystemExit(f"login failed: HTTP {reply.status_code}")
    form, _ = request("GET", "/admin/members/new/")
    block = load.BLOCK_RE.search(form.get_data(as_text=True)).group(1)
    phones = load.Phones(secrets.randbits(32))
    figures: dict[str, list[tuple[int, float]]] = {step: [] for step in STEPS}

    def step(name, reply, cpu, expected):
        if reply.status_code != expected:
            raise SystemExit(f"{name}: HTTP {reply.status_code}, expected {expected}")
        figures[name].append((int(reply.headers.get("X-Bench-SQL", 0)), cpu))
        return reply

    def enrol(n: int) -> None:
        form = step("GET form", *request("GET", "/admin/members/new/"), 200)
        phone = phones.new()
        created = step("POST create", *request("POST", "/admin/members/new/", {
            "csrf_token": token(form)} | load.member_details(phone, block, n)), 302)
        verify = location(created)
        page = step("GET verify", *request("GET", verify), 200)
        sent = step("POST send", *request("POST", verify, {"csrf_token": token(page),
                                                             "step": "send"}), 302)
        page = step("GET verify 2", *request("GET", location(sent)), 200)
        checked = step("POST check", *request("POST", verify, {
            "csrf_token": token(page), "step": "check",
            "code": load.read_code(outbox, phone)}), 302)
        step("GET verify 3", *request("GET", location(checked)), 200)

    for n in range(3):
        enrol(n)
    for values in figures.values():
        values.clear()
    gc.freeze()  # as a server after start-up (benchmarks/README.md, member_list.py)
    profile = cProfile.Profile(time.thread_time) if args.profile else None
    if profile:
        profile.enable()
    for n in range(args.count):
        enrol(n)
    if profile:
        profile.disable()
        profile.dump_stats(args.profile)
    total_sql = total_cpu = 0.0
    print(f"{'step':<14} {'sql':>6} {'cpu ms':>8}")
    for name, values in figures.items():
        sql = statistics.fmean(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        total_sql, total_cpu = total_sql + sql, total_cpu + cpu
        print(f"{name:<14} {sql:>6.1f} {cpu:>8.1f}")
    print(f"{'enrolment':<14} {total_sql:>6.1f} {total_cpu:>8.1f}  (sum of the steps; "
          f"{args.count} enrolments)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
