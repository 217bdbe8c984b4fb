"""Soak: a bounded mixed load at 70% of its measured maximum, for ten minutes, on the
server benchmarks/load.py starts (gunicorn, sync workers, the file outbox).

    .venv/bin/python benchmarks/soak.py                  # 10 minutes, PostgreSQL, Redis db 8
    .venv/bin/python benchmarks/soak.py --minutes 2 --calibrate-seconds 20

The mix, by weight: enrolments as a browser does them (enrollers of two blocks), /join
signups, dashboards, member lists and searches (district president, division
in-charge, block presidents), and the two block presidents' approval queues, each
approving up to five verified members at a time. First the mix runs closed-loop
(--concurrency clients, no pause) for --calibrate-seconds: its rate is the maximum.
Then it is offered open-loop at --load (0.7) of that rate for --minutes: a dispatcher
starts operations at that pace; one that cannot start within 5 s is dropped and
counted, so the run stays bounded whatever the server does.

Printed: operations done, dropped, answers 5xx and other failures; p50/p95 per
operation; each worker's memory (RSS) after the warm-up (the first --warmup-seconds)
and at the end, and the largest growth in per cent.
"""

from __future__ import annotations

import argparse
import http.client
import queue
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402 - benchmarks/load.py, beside this file

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - config/defaults.py's demo logins
BLOCKS = ("BLK-BILHA", "BLK-MASTURI")
READERS = ("district.bilaspur@demo.sadasya.in", "division.bilaspur@demo.sadasya.in",
           "block.bilha@demo.sadasya.in", "block.masturi@demo.sadasya.in")
APPROVERS = ("block.bilha@demo.sadasya.in", "block.masturi@demo.sadasya.in")
SEARCHES = ("वर्मा", "Sahu", "यादव", "98", "CG")
ROWID_RE = re.compile(r'name="rowid"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="rowid"')
WEIGHTS = {"enrol": 3, "join": 2, "dashboard": 2, "list": 2, "search": 2, "approve": 1}


class Failure(Exception):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class Pool:
    """Logged-in visitors of one kind, each used by one thread at a time."""

    def __init__(self, visitors) -> None:
        self.free: queue.Queue = queue.Queue()
        for visitor in visitors:
            self.free.put(visitor)

    def __enter__(self):
        self.visitor = self.free.get()
        return self.visitor

    def __exit__(self, *exc):
        self.free.put(self.visitor)


def logged_in(port: int, email: str, password: str) -> load.Visitor:
    visitor = load.Visitor(port)
    token = visitor.page_token(visitor.request("GET", "/login"))
    reply = visitor.request("POST", "/login", {"csrf_token": token, "login": email,
                                               "password": password, "next": ""})
    if reply.status != 302 or "/login" in load.location(reply):
        raise SystemExit(f"login of {email} failed: HTTP {reply.status}")
    return visitor


def expect(reply: load.Reply, *statuses: int) -> load.Reply:
    if reply.status not in statuses:
        raise Failure(f"HTTP {reply.status}", reply.status)
    return reply


class Mix:
    def __init__(self, port: int, outbox: Path, enrollers: int) -> None:
        self.port, self.outbox = port, outbox
        self.phones = load.Phones(secrets.randbits(32))
        self.enrollers = queue.Queue()
        for n in range(enrollers):
            enroller = load.Enroller(port, f"load-enroller-{n}@bench.sadasya.in")
            enroller.log_in()
            self.enrollers.put(enroller)
        self.readers = Pool([logged_in(port, email, DEMO_PASSWORD) for email in READERS])
        self.approvers = Pool([logged_in(port, email, DEMO_PASSWORD) for email in APPROVERS])
        self.count = 0
        self.lock = threading.Lock()

    def run(self, kind: str) -> None:
        with self.lock:
            self.count += 1
            n = self.count
        try:
            getattr(self, kind)(n)
        except load.StepError as error:
            status = re.search(r"HTTP (\d+)", str(error))
            raise Failure(str(error), int(status.group(1)) if status else 0) from None

    def enrol(self, n: int) -> None:
        enroller = self.enrollers.get()
        try:
            load.browser_enrolment(enroller, self.phones, self.outbox, n)
        finally:
            self.enrollers.put(enroller)

    def join(self, n: int) -> None:
        load.join_signup(self.port, self.phones, self.outbox, n)

    def dashboard(self, n: int) -> None:
        with self.readers as visitor:
            expect(visitor.request("GET", "/admin/"), 200)

    def list(self, n: int) -> None:
        with self.readers as visitor:
            page = "" if n % 3 else "?page=1"
            expect(visitor.request("GET", f"/admin/members/{page}"), 200)

    def search(self, n: int) -> None:
        with self.readers as visitor:
            term = SEARCHES[n % len(SEARCHES)]
            expect(visitor.request("GET", "/admin/members/?search=" + urllib.parse.quote(term)),
                   200)

    def approve(self, n: int) -> None:
        with self.approvers as visitor:
            page = expect(visitor.request("GET", "/admin/queue/"), 200)
            token = visitor.page_token(page)
            ids = [a or b for a, b in ROWID_RE.findall(page.text)][:5]
            if ids:
                expect(visitor.request("POST", "/admin/queue/action/", {
                    "csrf_token": token, "action": "approve", "rowid": ids[0]}
                    if len(ids) == 1 else [("csrf_token", token), ("action", "approve"),
                                           *(("rowid", i) for i in ids)]), 302)


class Record:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: dict[str, list[float]] = {kind: [] for kind in WEIGHTS}
        self.server_errors: list[str] = []
        self.failures: list[str] = []
        self.dropped = 0

    def done(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.seconds[kind].append(seconds)

    def failed(self, kind: str, failure: Exception) -> None:
        status = getattr(failure, "status", 0)
        with self.lock:
            (self.server_errors if status >= 500 else self.failures).append(
                f"{kind}: {failure}")


def kinds(rng: random.Random):
    population = [kind for kind, weight in WEIGHTS.items() for _ in range(weight)]
    while True:
        yield rng.choice(population)


def operate(mix: Mix, record: Record, kind: str) -> None:
    started = time.perf_counter()
    try:
        mix.run(kind)
    except (Failure, OSError, http.client.HTTPException) as failure:
        record.failed(kind, failure)
        return
    record.done(kind, time.perf_counter() - started)


def closed_loop(mix: Mix, clients: int, seconds: float) -> float:
    """The mix's maximum: operations per second with no pause between them."""
    record = Record()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()

    def client(i: int) -> None:
        for kind in kinds(random.Random(i)):
            if time.perf_counter() > deadline:
                return
            operate(mix, record, kind)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = sum(len(v) for v in record.seconds.values())
    return done / (time.perf_counter() - started)


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


def open_loop(mix: Mix, server: load.Server, rate: float, seconds: float, warmup: float,
              threads: int) -> tuple[Record, dict, dict]:
    """Operations started at ``rate`` per second for ``seconds``; bounded queue."""
    record = Record()
    tasks: queue.Queue = queue.Queue(maxsize=max(int(rate * 5), threads))
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                kind, due = tasks.get(timeout=0.5)
            except queue.Empty:
                continue
            if time.perf_counter() - due > 5:  # could not start in time: dropped
                with record.lock:
                    record.dropped += 1
                continue
            operate(mix, record, kind)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    workers = load.children(server.pid)
    after_warmup: dict[int, int] = {}
    started = time.perf_counter()
    next_sample = started + 60
    for n, kind in enumerate(kinds(random.Random(7))):
        due = started + n / rate
        now = time.perf_counter()
        if due - started > seconds:
            break
        if due > now:
            time.sleep(due - now)
        if not after_warmup and time.perf_counter() - started > warmup:
            after_warmup = {pid: rss_kb(pid) for pid in workers}
        if time.perf_counter() > next_sample:
            next_sample += 60
            minute = round((time.perf_counter() - started) / 60)
            print(f"  minute {minute}: done {sum(len(v) for v in record.seconds.values())}, "
                  f"5xx {len(record.server_errors)}, other failures {len(record.failures)}, "
                  f"dropped {record.dropped}, RSS MB "
                  + " ".join(f"{rss_kb(pid) / 1024:.0f}" for pid in workers), flush=True)
        try:
            tasks.put_nowait((kind, due))
        except queue.Full:
            with record.lock:
                record.dropped += 1
    stop.set()
    for thread in pool:
        thread.join(60)
    return record, after_warmup, {pid: rss_kb(pid) for pid in workers}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=load.DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=load.DEFAULT_REDIS)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--load", type=float, default=0.7, help="of the measured maximum")
    parser.add_argument("--calibrate-seconds", type=float, default=30)
    parser.add_argument("--warmup-seconds", type=float, default=120)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    _env, server = load.start(args, tmp, args.concurrency, BLOCKS)
    try:
        mix = Mix(server.port, tmp / "outbox", args.concurrency)
        maximum = closed_loop(mix, args.concurrency, args.calibrate_seconds)
        rate = maximum * args.load
        print(f"mix maximum {maximum:.2f} operations/s (closed loop, {args.concurrency} "
              f"clients); soaking at {rate:.2f}/s for {args.minutes:g} minutes", flush=True)
        record, warm, end = open_loop(mix, server, rate, args.minutes * 60,
                                      args.warmup_seconds, args.concurrency * 2)
    finally:
        server.stop()
    return report(record, warm, end, tmp)


def report(record: Record, warm: dict, end: dict, tmp: Path) -> int:
    print(f"\n{'operation':<10} {'done':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for kind, seconds in record.seconds.items():
        ms = [s * 1000 for s in seconds]
        print(f"{kind:<10} {len(ms):>6} {load.percentile(ms, 0.5):>8.0f} "
              f"{load.percentile(ms, 0.95):>8.0f}")
    done = sum(len(v) for v in record.seconds.values())
    growth = [(end[pid] - warm[pid]) * 100 / warm[pid] for pid in warm if warm[pid]]
    print(f"\noperations done {done}, dropped {record.dropped}, 5xx {len(record.server_errors)}"
          f", other failures {len(record.failures)}")
    print("worker RSS MB after warm-up: " + " ".join(f"{v / 1024:.1f}" for v in warm.values()))
    print("worker RSS MB at the end:    " + " ".join(f"{v / 1024:.1f}" for v in end.values()))
    if growth:
        print(f"largest RSS growth after warm-up: {max(growth):.1f}% "
              f"(mean {statistics.fmean(growth):.1f}%)")
    for line in sorted(set(record.server_errors + record.failures))[:10]:
        print("  " + line)
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if record.server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
