"""Load benchmark: enrolments as a browser does them, the lean three POSTs, /join,
and the ceiling (a static file, the login page) on one gunicorn server in one run.

    # PostgreSQL (database load_bench, created and reset) and Redis db 8 for the limits:
    .venv/bin/python benchmarks/load.py
    .venv/bin/python benchmarks/load.py --workers 4 --concurrency 8 --seconds 30 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/load_bench \\
        --redis-url redis://127.0.0.1:6379/8
    # the CI smoke (tests/test_load_smoke.py): tiny counts, no timing judged
    .venv/bin/python benchmarks/load.py --count 2 --concurrency 2 --workers 2 \\
        --database-url sqlite:////tmp/load-smoke.sqlite3 --redis-url ''

The server is `gunicorn -w N --bind 127.0.0.1:<free port> --pythonpath benchmarks
load_server:app` (benchmarks/load_server.py): the ordinary app, plus a file outbox
for the codes and per-request figures in response headers, neither reachable from
wsgi.py. The database is rebuilt first (migrations, `backoffice demo --members M`,
one enroller per concurrent client) unless --reuse is given.

Flows (each client thread is one enroller, logged in once, outside the timing):

- browser: GET the form, POST create, GET the verify page, POST send, GET the verify
  page, POST check (the code read from the outbox), GET the verify page that shows the
  phone verified: 7 requests;
- lean: POST create, POST send, POST check (redirects not followed): 3 requests;
  every enrolment's member is then checked verified in the database;
- join: GET /join, POST /join, GET /join/verify, POST the code: 4 requests, a new
  visitor (cookies) each time;
- ceiling: GET /static/sadasya.css and GET /login with no session, measured before and
  after the flows; their mean is the ceiling each rate is divided by.

Printed per phase: units/s, the ratio to each ceiling, errors, worker CPU ms per unit
(from the request headers, and from /proc for the worker processes as a whole),
PostgreSQL backend CPU ms per unit (/proc of the app's backends), SQL statements,
transactions and connection checkouts per unit; per step: p50/p95 ms, statements and
CPU ms. The generator's own CPU is printed too: it shares the machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's; its backoffice, gunicorn and python
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/load_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/8"
PASSWORD = "load-bench-2026"  # noqa: S105 - synthetic enrollers of a throwaway database
FAST_HASH = '{"time_cost": 1, "memory_cost": 8, "parallelism": 1}'
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'name="csrf_token" value="([^"]+)"')
# the first block offered, past a "choose" option and a district's <optgroup>
BLOCK_RE = re.compile(r'name="block_id"[^>]*>(?:\s*<option[^>]*value=""[^>]*>[^<]*</option>)?'
                      r'(?:\s*<optgroup[^>]*>)?\s*<option[^>]*value="(\d+)"')
STARTED_RE = re.compile(r'name="started" type="hidden" value="([^"]*)"')
NAMES = ("सुनीता वर्मा", "Ramesh Sahu", "कविता यादव", "Dilip Lahariya", "अनीता साहू")


# --- HTTP: one visitor's cookies, a new connection per request (sync workers close) ---

@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def figure(self, name: str) -> int:
        return int(self.headers.get(name.lower(), 0) or 0)


class StepError(Exception):
    pass


class Visitor:
    def __init__(self, port: int, lang: str = "hi") -> None:
        self.port, self.lang = port, lang
        self.cookies: dict[str, str] = {}
        self.token: str | None = None

    def request(self, method: str, path: str, form: dict | None = None) -> Reply:
        headers = {"Accept-Language": self.lang, "Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body, headers)
            answer = connection.getresponse()
            data = answer.read()
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        for line in answer.msg.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(line).items():
                if morsel.value and not morsel["expires"].startswith("Thu, 01 Jan 1970"):
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return Reply(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data, seconds)

    def page_token(self, reply: Reply) -> str:
        match = CSRF_RE.search(reply.text)
        if not match:
            raise StepError(f"no CSRF token in a {reply.status} answer")
        self.token = match.group(1) or match.group(2)
        return self.token


@dataclass
class Unit:
    """One enrolment, signup or ceiling request: its steps' replies."""

    steps: list[tuple[str, Reply]] = field(default_factory=list)
    member_id: int | None = None  # an enrolment's member, checked verified after the phase

    def add(self, name: str, reply: Reply, *expected: int) -> Reply:
        self.steps.append((name, reply))
        if reply.status not in expected:
            raise StepError(f"{name}: HTTP {reply.status}, expected {expected}")
        return reply


def member_id(verify_url: str) -> int:
    """The member's id from the verify page's address a saved member is sent to."""
    if "/verify/" not in verify_url or "id=" not in verify_url:
        raise StepError(f"create went to {verify_url!r}, not the verify page")
    return int(verify_url.rsplit("id=", 1)[1].split("&")[0])


def unverified(database_url: str, ids: list[int]) -> int:
    """How many of these members are still waiting for their phone check."""
    if not ids:
        return 0
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            verified = connection.execute(text(
                "SELECT count(*) FROM member WHERE status = 'phone_verified' AND id IN ("
                + ",".join(str(int(i)) for i in ids) + ")")).scalar()
    finally:
        engine.dispose()
    return len(ids) - verified


def location(reply: Reply) -> str:
    target = urllib.parse.urlsplit(reply.headers.get("location", ""))
    return target.path + (f"?{target.query}" if target.query else "")


# --- phones and codes ---

class Phones:
    """Fresh valid Indian mobiles, never the same twice in a run."""

    def __init__(self, seed: int) -> None:
        import phonenumbers

        self.pn = phonenumbers
        self.rng = random.Random(seed)
        self.used: set[str] = set()
        self.lock = threading.Lock()

    def new(self) -> str:
        with self.lock:
            while True:
                number = self.pn.parse(f"+91{self.rng.randint(6000000000, 9999999999)}")
                e164 = self.pn.format_number(number, self.pn.PhoneNumberFormat.E164)
                if (e164 not in self.used and self.pn.is_valid_number(number) and
                        self.pn.number_type(number) == self.pn.PhoneNumberType.MOBILE):
                    self.used.add(e164)
                    return e164


def read_code(outbox: Path, phone: str, timeout: float = 10.0) -> str:
    path = outbox / phone
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise StepError("no code in the outbox")
        time.sleep(0.005)
    code = path.read_text()
    path.unlink()
    return code


# A relative's name and a birth date drawn per phone: as in a real drive, a member rarely
# shares name, relative's name and birth year with another (the duplicate check's key).
# Until 2026-11-30 every member had the same relative and birth date, so each new one
# was flagged against 20 others: 21 audit events per member instead of one.
RELATIVES = ("श्रीराम", "Mohan", "रामेश्वर", "Suresh", "गणेश", "Harish", "बलराम", "Vinod",
             "शिवकुमार", "Pradeep", "नरेंद्र", "Ashok", "दयाराम", "Kishore", "भगवान", "Santosh")
SURNAMES = ("त्रिपाठी", "Sahu", "यादव", "Verma", "पटेल", "Kurre", "साहू", "Dewangan",
            "मरकाम", "Netam", "ध्रुव", "Banjare", "कश्यप", "Tandon", "वर्मा", "Patel")


def member_details(phone: str, block_id: str, n: int) -> dict:
    pick = random.Random(phone)
    born = f"{pick.randint(1950, 2004)}-{pick.randint(1, 12):02d}-{pick.randint(1, 28):02d}"
    return {"full_name": NAMES[n % len(NAMES)], "relation": "father",
            "relative_name": f"{pick.choice(RELATIVES)} {pick.choice(SURNAMES)}",
            "gender": ("female", "male")[n % 2],
            "date_of_birth": born, "mobile": phone[3:], "epic": "",
            "address": "वार्ड 4", "block_id": block_id, "zone_id": "", "booth_no": "17",
            "fee_receipt_no": "", "consent": "y"}


# --- the flows ---

class Enroller:
    """A logged-in enroller's browser."""

    def __init__(self, port: int, email: str) -> None:
        self.visitor = Visitor(port)
        self.email = email
        self.block_id: str | None = None

    def log_in(self) -> None:
        v = self.visitor
        token = v.page_token(v.request("GET", "/login"))
        reply = v.request("POST", "/login", {"csrf_token": token, "login": self.email,
                                             "password": PASSWORD, "next": ""})
        if reply.status != 302 or "/login" in location(reply):
            raise StepError(f"login of {self.email} failed: HTTP {reply.status}")
        form = v.request("GET", "/admin/members/new/")
        v.page_token(form)
        match = BLOCK_RE.search(form.text)
        if not match:
            raise StepError("no block on the member form")
        self.block_id = match.group(1)


def browser_enrolment(enroller: Enroller, phones: Phones, outbox: Path, n: int) -> Unit:
    v, unit = enroller.visitor, Unit()
    form = unit.add("GET form", v.request("GET", "/admin/members/new/"), 200)
    token = v.page_token(form)
    phone = phones.new()
    created = unit.add("POST create", v.request("POST", "/admin/members/new/", {
        "csrf_token": token} | member_details(phone, enroller.block_id, n)), 302)
    verify = location(created)
    unit.member_id = member_id(verify)
    token = v.page_token(unit.add("GET verify", v.request("GET", verify), 200))
    sent = unit.add("POST send", v.request("POST", verify, {"csrf_token": token,
                                                            "step": "send"}), 302)
    token = v.page_token(unit.add("GET verify 2", v.request("GET", location(sent)), 200))
    code = read_code(outbox, phone)
    checked = unit.add("POST check", v.request("POST", verify, {
        "csrf_token": token, "step": "check", "code": code}), 302)
    done = unit.add("GET verify 3", v.request("GET", location(checked)), 200)
    if 'value="check"' in done.text:  # the code form again: not verified
        raise StepError("the code was not accepted")
    return unit


def lean_enrolment(enroller: Enroller, phones: Phones, outbox: Path, n: int) -> Unit:
    v, unit = enroller.visitor, Unit()
    phone = phones.new()
    created = unit.add("POST create", v.request("POST", "/admin/members/new/", {
        "csrf_token": v.token} | member_details(phone, enroller.block_id, n)), 302)
    verify = location(created)
    unit.member_id = member_id(verify)
    unit.add("POST send", v.request("POST", verify, {"csrf_token": v.token, "step": "send"}),
             302)
    code = read_code(outbox, phone)
    unit.add("POST check", v.request("POST", verify, {
        "csrf_token": v.token, "step": "check", "code": code}), 302)
    return unit  # verified or not: the phase asks the database (unverified)


def join_signup(port: int, phones: Phones, outbox: Path, n: int) -> Unit:
    v, unit = Visitor(port), Unit()
    page = unit.add("GET /join", v.request("GET", "/join"), 200)
    token = v.page_token(page)
    started = STARTED_RE.search(page.text)
    block = BLOCK_RE.search(page.text)
    if not (started and block):
        raise StepError("the join form lacks its stamp or blocks")
    phone = phones.new()
    details = member_details(phone, block.group(1), n)
    details = {k: details[k] for k in ("full_name", "relation", "relative_name", "gender",
                                       "date_of_birth", "mobile", "epic", "address",
                                       "booth_no", "block_id", "consent")}
    posted = unit.add("POST /join", v.request("POST", "/join", {
        "csrf_token": token, "started": started.group(1), "website": ""} | details), 302)
    if location(posted) != "/join/verify":
        raise StepError(f"/join went to {location(posted)!r}")
    token = v.page_token(unit.add("GET /join/verify", v.request("GET", "/join/verify"), 200))
    code = read_code(outbox, phone)
    done = unit.add("POST code", v.request("POST", "/join/verify", {"csrf_token": token,
                                                                    "code": code}), 200)
    if 'name="code"' in done.text:  # the code step again: not verified
        raise StepError("the join code was not accepted")
    return unit


def static_file(port: int) -> Unit:
    unit = Unit()
    unit.add("GET static", Visitor(port).request("GET", "/static/sadasya.css"), 200)
    return unit


def login_page(port: int) -> Unit:
    unit = Unit()
    unit.add("GET /login", Visitor(port).request("GET", "/login"), 200)
    return unit


# --- measuring ---

def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(stat[1]) == parent:
                found.append(int(entry.name))
    return found


class Backends:
    """The app's PostgreSQL backends on this machine, for their CPU (none on SQLite)."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url if database_url.startswith("postgresql") else None

    def pids(self) -> list[int]:
        if not self.url:
            return []
        import psycopg

        with psycopg.connect(_libpq(self.url)) as connection:
            return [row[0] for row in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")]


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


class Snapshot:
    def __init__(self, server: Server, backends: Backends) -> None:
        self.at = time.perf_counter()
        self.own = time.process_time()
        self.workers = {pid: cpu_ticks(pid) for pid in children(server.pid)}
        self.backends = {pid: cpu_ticks(pid) for pid in backends.pids()}

    def since(self, earlier: Snapshot) -> dict:
        def delta(now, before):
            return sum(ticks - before.get(pid, 0) for pid, ticks in now.items())

        return {"seconds": self.at - earlier.at, "own_cpu": self.own - earlier.own,
                "worker_cpu": delta(self.workers, earlier.workers) / CLOCK_TICKS,
                "backend_cpu": delta(self.backends, earlier.backends) / CLOCK_TICKS}


@dataclass
class Phase:
    name: str
    units: list[Unit]
    errors: list[str]
    usage: dict

    @property
    def rate(self) -> float:
        return len(self.units) / self.usage["seconds"] if self.usage["seconds"] else 0.0

    def per_unit(self, header: str) -> float:
        if not self.units:
            return 0.0
        return statistics.fmean(sum(r.figure(header) for _n, r in u.steps) for u in self.units)

    def steps(self) -> dict[str, list[Reply]]:
        by_step: dict[str, list[Reply]] = {}
        for unit in self.units:
            for name, reply in unit.steps:
                by_step.setdefault(name, []).append(reply)
        return by_step


def run_phase(name, make_unit, clients: int, *, seconds: float | None, count: int | None,
              server: Server, backends: Backends) -> Phase:
    """``clients`` threads, each running make_unit(i, n) until the time or count is up."""
    units: list[Unit] = []
    errors: list[str] = []
    lock = threading.Lock()
    issued = [0]
    before = Snapshot(server, backends)
    deadline = time.perf_counter() + (seconds or 1e9)

    def client(i: int) -> None:
        while time.perf_counter() < deadline:
            with lock:
                if count is not None and issued[0] >= count:
                    return
                issued[0] += 1
                n = issued[0]
            try:
                unit = make_unit(i, n)
            except (StepError, OSError, http.client.HTTPException) as error:
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
                continue
            with lock:
                units.append(unit)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Phase(name, units, errors, Snapshot(server, backends).since(before))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(phases: dict[str, Phase], ceiling: dict[str, float]) -> dict:
    out = {"ceiling": ceiling, "phases": {}}
    print()
    print(f"ceiling (mean of before and after): static file {ceiling['static']:.1f} req/s, "
          f"login page {ceiling['login']:.1f} req/s")
    head = (f"{'phase':<9} {'units':>6} {'/s':>7} {'/static':>8} {'/login':>7} {'err':>4} "
            f"{'cpu ms':>7} {'proc ms':>8} {'pg ms':>6} {'sql':>6} {'tx':>5} {'conn':>5} "
            f"{'gen ms':>7}")
    print(head)
    for name, phase in phases.items():
        n = max(len(phase.units), 1)
        row = {
            "units": len(phase.units), "rate": phase.rate, "errors": len(phase.errors),
            "vs_static": phase.rate / ceiling["static"] if ceiling["static"] else 0,
            "vs_login": phase.rate / ceiling["login"] if ceiling["login"] else 0,
            "cpu_ms": phase.per_unit("X-Bench-CPU-us") / 1000,
            "worker_cpu_ms": phase.usage["worker_cpu"] * 1000 / n,
            "pg_cpu_ms": phase.usage["backend_cpu"] * 1000 / n,
            "sql": phase.per_unit("X-Bench-SQL"),
            "transactions": phase.per_unit("X-Bench-Transactions"),
            "checkouts": phase.per_unit("X-Bench-Checkouts"),
            "generator_cpu_ms": phase.usage["own_cpu"] * 1000 / n,
            "steps": {},
        }
        print(f"{name:<9} {row['units']:>6} {row['rate']:>7.2f} {row['vs_static']:>8.3f} "
              f"{row['vs_login']:>7.3f} {row['errors']:>4} {row['cpu_ms']:>7.1f} "
              f"{row['worker_cpu_ms']:>8.1f} {row['pg_cpu_ms']:>6.1f} {row['sql']:>6.1f} "
              f"{row['transactions']:>5.1f} {row['checkouts']:>5.1f} "
              f"{row['generator_cpu_ms']:>7.1f}")
        for step, replies in phase.steps().items():
            ms = [r.seconds * 1000 for r in replies]
            row["steps"][step] = {
                "p50_ms": percentile(ms, 0.5), "p95_ms": percentile(ms, 0.95),
                "sql": statistics.fmean(r.figure("X-Bench-SQL") for r in replies),
                "cpu_ms": statistics.fmean(r.figure("X-Bench-CPU-us") for r in replies) / 1000}
        out["phases"][name] = row
    print()
    print(f"{'phase':<9} {'step':<16} {'p50 ms':>8} {'p95 ms':>8} {'sql':>6} {'cpu ms':>7}")
    for name, row in out["phases"].items():
        for step, s in row["steps"].items():
            print(f"{name:<9} {step:<16} {s['p50_ms']:>8.1f} {s['p95_ms']:>8.1f} "
                  f"{s['sql']:>6.1f} {s['cpu_ms']:>7.1f}")
    for name, phase in phases.items():
        for error in sorted(set(phase.errors))[:5]:
            print(f"error in {name}: {error} (x{phase.errors.count(error)})")
    print()
    print("units/s: enrolments, signups or requests per second; /static, /login: that rate "
          "over the ceiling's requests/s; cpu ms: worker CPU inside the requests (headers); "
          "proc ms: the worker processes' CPU (/proc); pg ms: PostgreSQL backends' CPU; sql, "
          "tx, conn: statements, transactions, connection checkouts; gen ms: this "
          "generator's CPU; all per unit")
    return out


# --- the database and the server ---

def server_env(database_url: str, redis_url: str, tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    (tmp / "instance").mkdir(exist_ok=True)
    (tmp / "outbox").mkdir(exist_ok=True)
    settings = {
        "ENV": "development", "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp / "instance"),
        "SMS_GATEWAY": "memory", "PASSWORD_HASH": FAST_HASH,
        "AUDIT_SIGNING_KEY": str(tmp / "no-key.pem"),
        # Limits the benchmark would hit by design (one address, a few enrollers).
        "RATELIMIT_ENABLED": "false", "OTP_IP_LIMIT": "1000000/hour",
        "OTP_ENROLLER_LIMIT": "1000000/hour", "JOIN_RATE_LIMIT": "1000000/hour",
        "JOIN_MIN_SECONDS": "0", "SLOW_REQUEST_MS": "10000",
    }
    if redis_url:
        settings["RATELIMIT_STORAGE_URL"] = redis_url
    env |= {f"BACKOFFICE_{k}": v for k, v in settings.items()}
    env["LOAD_BENCH_OUTBOX"] = str(tmp / "outbox")
    # The code of this checkout (a worktree's too), whatever the venv has installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    return env


def reset_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(url.split("sqlite:///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    if name in ("test", "postgres") or not name.startswith(("load", "test_")):
        raise SystemExit(f"refusing to reset database {name!r}: give one named load_*")
    server = _libpq(url).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


def setup_database(env: dict, tmp: Path, members: int, enrollers: int,
                   blocks: tuple[str, ...] = ()) -> list[str]:
    """Migrations, the demo hierarchy and logins, `members` synthetic members, and
    `enrollers` enrollers spread over the blocks coded `blocks` (default: Bilaspur
    district's). Their emails."""
    for args in (("db", "upgrade"), ("demo", "--members", str(members))):
        done = subprocess.run([str(BIN / "backoffice"), *args], env=env, cwd=tmp,  # noqa: S603
                              capture_output=True, text=True, timeout=900, check=False)
        if done.returncode:
            raise SystemExit(f"backoffice {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    script = f"""
from sqlalchemy import select
from backoffice import create_app
from backoffice.auth.passwords import hash_password
from backoffice.extensions import db
from backoffice.models import RoleAssignment, StaffUser, Unit
app = create_app()
with app.app_context():
    district = db.session.scalar(select(Unit).where(Unit.code == "DIST-BILASPUR"))
    blocks = db.session.scalars(select(Unit).where(Unit.parent_id == district.id,
                                                   Unit.level == "block")).all()
    chosen = {blocks!r}
    if chosen:
        blocks = [b for b in blocks if b.code in chosen]
    digest = hash_password({PASSWORD!r})
    for n in range({enrollers}):
        email = f"load-enroller-{{n}}@bench.sadasya.in"
        if db.session.scalar(select(StaffUser).where(StaffUser.email == email)):
            continue
        user = StaffUser(full_name=f"Load enroller {{n}}", email=email, password_hash=digest)
        db.session.add(user)
        db.session.flush()
        db.session.add(RoleAssignment(user_id=user.id, role="enroller",
                                      unit_id=blocks[n % len(blocks)].id))
    db.session.commit()
"""
    done = subprocess.run([str(BIN / "python"), "-c", script], env=env, cwd=tmp,  # noqa: S603
                          capture_output=True, text=True, timeout=300, check=False)
    if done.returncode:
        raise SystemExit(f"adding enrollers failed:\n{done.stderr[-3000:]}")
    return [f"load-enroller-{n}@bench.sadasya.in" for n in range(enrollers)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn with N sync workers on a free loopback port; stopped by its own pid."""

    def __init__(self, env: dict, tmp: Path, workers: int) -> None:
        self.port = free_port()
        self.log = tmp / "server.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - the venv's gunicorn, our flags
                [str(BIN / "gunicorn"), "-w", str(workers), "--worker-class", "sync",
                 "--bind", f"127.0.0.1:{self.port}", "--timeout", "120",
                 "--pythonpath", str(ROOT / "benchmarks"), "load_server:app"],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.pid = self.process.pid
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("the server did not start:\n" + self.log.read_text()[-3000:])
            try:
                if Visitor(self.port).request("GET", "/healthz").status == 200 \
                        and len(children(self.pid)) >= workers:
                    break
            except OSError:
                pass
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


# --- the run ---

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS,
                        help="rate-limit storage, as production has it ('' for memory)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30, help="per phase")
    parser.add_argument("--count", type=int, default=None,
                        help="units per phase instead of --seconds (the smoke test)")
    parser.add_argument("--members", type=int, default=3000,
                        help="synthetic members the database starts with")
    parser.add_argument("--phases", default="browser,lean,join")
    parser.add_argument("--reuse", action="store_true", help="keep the database as it is")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def start(args, tmp: Path, enrollers: int, blocks: tuple[str, ...] = ()):
    """The database (rebuilt unless --reuse), the server and the logged-in enrollers."""
    env = server_env(args.database_url, args.redis_url, tmp)
    if not args.reuse:
        reset_database(args.database_url)
    started = time.perf_counter()
    setup_database(env, tmp, 0 if args.reuse else args.members, enrollers, blocks)
    print(f"database ready in {time.perf_counter() - started:.1f} s", flush=True)
    server = Server(env, tmp, args.workers)
    return env, server


def main(argv=None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="load-bench-"))
    outbox = tmp / "outbox"
    env, server = start(args, tmp, args.concurrency)
    try:
        status = run(args, server, outbox)
    finally:
        server.stop()
    if status:  # the server's warnings and errors (its log lines carry no personal data)
        lines = [line for line in server.log.read_text(errors="replace").splitlines()
                 if '"level": "INFO"' not in line and "[INFO]" not in line]
        print("\n".join(lines[-30:])[-6000:])
    shutil.rmtree(tmp, ignore_errors=True)
    return status


def run(args, server: Server, outbox: Path) -> int:
    port, clients = server.port, args.concurrency
    phones = Phones(secrets.randbits(32))
    backends = Backends(args.database_url)
    enrollers = [Enroller(port, f"load-enroller-{n}@bench.sadasya.in") for n in range(clients)]
    for enroller in enrollers:
        enroller.log_in()
    flows = {
        "browser": lambda i, n: browser_enrolment(enrollers[i], phones, outbox, n),
        "lean": lambda i, n: lean_enrolment(enrollers[i], phones, outbox, n),
        "join": lambda i, n: join_signup(port, phones, outbox, n),
    }
    chosen = [name for name in args.phases.split(",") if name]
    ceilings = {"static": lambda i, n: static_file(port), "login": lambda i, n: login_page(port)}

    def phase(name, make, **kwargs):
        timing = {"seconds": args.seconds, "count": args.count} | kwargs
        result = run_phase(name, make, clients, server=server, backends=backends, **timing)
        print(f"{name}: {len(result.units)} in {result.usage['seconds']:.1f} s, "
              f"{len(result.errors)} errors", flush=True)
        return result

    print(f"gunicorn -w {args.workers} on port {port}, {clients} clients; warming up",
          flush=True)
    for name in chosen:  # every worker renders every page once before anything counts
        run_phase(name, flows[name], clients, seconds=None, count=max(clients, 2),
                  server=server, backends=backends)
    phases: dict[str, Phase] = {}
    before = {name: phase(f"{name}", make) for name, make in ceilings.items()}
    for name in chosen:
        phases[name] = phase(name, flows[name])
        ids = [unit.member_id for unit in phases[name].units if unit.member_id]
        if missing := unverified(args.database_url, ids):
            phases[name].errors += ["a member of this phase is not verified"] * missing
    after = {name: phase(f"{name}", make) for name, make in ceilings.items()}
    ceiling = {name: statistics.fmean([before[name].rate, after[name].rate])
               for name in ceilings}
    for name in ceilings:
        phases[f"{name}"] = Phase(name, before[name].units + after[name].units,
                                  before[name].errors + after[name].errors,
                                  _sum_usage(before[name].usage, after[name].usage))
    figures = report(phases, ceiling)
    figures["settings"] = {"workers": args.workers, "concurrency": clients,
                           "seconds": args.seconds, "count": args.count,
                           "database": args.database_url.split("://")[0]}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    errors = sum(len(p.errors) for p in phases.values())
    print(f"errors: {errors}")
    return 1 if errors else 0


def _sum_usage(a: dict, b: dict) -> dict:
    return {key: a[key] + b[key] for key in a}


if __name__ == "__main__":
    sys.exit(main())
