"""The member search at 1M members: p50/p95 for a district head and a block president.

    # build the database first (about 1M members; see generate_members.py):
    BACKOFFICE_ENV=development .venv/bin/python benchmarks/generate_members.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_search
    # then (about 3 minutes on 2 busy cores):
    BACKOFFICE_ENV=development .venv/bin/python benchmarks/search.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_search
    # with each search's SQL and PostgreSQL's plan for the page query:
    ... benchmarks/search.py --repeat 5 --explain

For the Bilaspur district president (about 75,000 members at 1M) and the Bilha
block president (about 19,000) it times GET /admin/members/?search=TERM
in-process with the Flask test client, logged in as member_list.py does, Hindi
as the language, from the WSGI call to the last byte: routing, session, grants,
the bounded count and the page query, rendering. No network.

The terms are taken from the data, in the viewer's scope, as a user would type
them (services/search.py says what each finds):

  surname     a Devanagari surname alone (बघेल), the word most members in scope share
  latin       a Devanagari first name typed in Latin letters (kamla for कमला)
  typing      the first three Latin letters of that surname, as it is being typed
  phone-tail  the last 4 digits of a member's mobile
  number      a membership number without its prefix or leading zeros
  baseline    the whole membership number (CG + 9 digits): one primary-key lookup,
              the same page drawn with one row; measured in the same run, interleaved
  list        no search: the list's first page as opened (50 rows, its count from the
              tallies), the page a search result is drawn like

Every case gets 3 warm-up requests, then --repeat timed ones, all cases
round-robin so drift on a shared machine hits the baseline alike; the heap is
frozen after the warm-ups (see member_list.py). Printed: p50, p95 (ms,
nearest-rank), the database's share (p50), rows found (the list's count, at
most 10,000+), and each p95 against the baseline's p95.
"""

from __future__ import annotations

import argparse
import contextvars
import gc
import os
import re
import time
import unicodedata
from dataclasses import dataclass, field

from indic_transliteration import sanscript
from member_list import SqlMeter, app_config, login, percentile
from sqlalchemy import event, func, select

from backoffice import create_app
from backoffice.extensions import db
from backoffice.models import Member, StaffUser, Unit
from backoffice.services.demo import DEMO_STAFF
from backoffice.services.membership_numbers import format_membership_no

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_search"
VIEWERS = (("district_president", "DIST-BILASPUR"), ("block_president", "BLK-BILHA"))
WARMUP = 3
TARGET_MS = 150
_COUNT = re.compile(r"\((\d[\d,+]*)\)")
_DEVANAGARI = re.compile(r"^[\u0900-\u097f]+$")


@dataclass
class Case:
    who: str
    kind: str
    term: str
    client: object
    times: list[float] = field(default_factory=list)
    db_times: list[float] = field(default_factory=list)
    found: str = ""
    status: int = 0


def _latin(word: str) -> str:
    """A Devanagari word as someone types it in Latin letters: ISO 15919 without marks,
    the final inherent vowel dropped (कमला -> kamala; बघेल -> baghel)."""
    iso = sanscript.transliterate(word, sanscript.DEVANAGARI, sanscript.ISO)
    plain = "".join(c for c in unicodedata.normalize("NFKD", iso) if c.isascii())
    return plain[:-1] if plain.endswith("a") and len(plain) > 3 else plain


def _terms(unit: Unit) -> dict[str, str]:
    """The searches, drawn from the members in the viewer's unit."""
    column = Member.district_id if unit.level == "district" else Member.block_id
    names = db.session.scalars(select(Member.full_name).where(column == unit.id)
                               .order_by(Member.id).limit(5000)).all()
    hindi = [name.split() for name in names if _DEVANAGARI.match(name.split()[0])]
    surnames: dict[str, int] = {}
    for words in hindi:
        surnames[words[-1]] = surnames.get(words[-1], 0) + 1
    surname = max(surnames, key=surnames.get)
    first = hindi[len(hindi) // 2][0]
    member_id, mobile = db.session.execute(
        select(Member.id, Member.mobile).where(column == unit.id).order_by(Member.id)
        .offset(1000).limit(1)).one()
    number = format_membership_no(member_id)
    return {"surname": surname, "latin": _latin(first), "typing": _latin(surname)[:3],
            "phone-tail": mobile[-4:], "number": number[2:].lstrip("0"),
            "baseline": number, "list": ""}


def build_cases(app) -> list[Case]:
    cases = []
    emails = {(role, code): email for role, code, email, _name in DEMO_STAFF}
    for role, code in VIEWERS:
        with app.app_context():
            user_id = db.session.scalar(select(StaffUser.id).where(
                StaffUser.email == emails[(role, code)]))
            unit = db.session.scalar(select(Unit).where(Unit.code == code))
            rows = db.session.scalar(select(func.count()).select_from(Member).where(
                (Member.district_id if unit.level == "district" else Member.block_id)
                == unit.id))
            terms = _terms(unit)
            db.session.remove()
        client = app.test_client()
        client.set_cookie("lang", "hi")
        login(app, client, user_id)
        who = f"{role} {code} ({rows:,} members)"
        cases += [Case(who, kind, term, client) for kind, term in terms.items()]
    return cases


def timed(case: Case, meter: SqlMeter) -> tuple[float, float]:
    meter.reset()

    def get():
        started = time.perf_counter()
        response = case.client.get("/admin/members/", query_string={"search": case.term}
                                   if case.term else None)
        body = response.get_data(as_text=True)
        return time.perf_counter() - started, response.status_code, body

    elapsed, case.status, body = contextvars.Context().run(get)
    tab = body[body.find('class="nav-link active"'):][:400]
    match = _COUNT.search(tab)
    case.found = match.group(1) if match else "0"
    return elapsed, meter.seconds


def explain(app, cases: list[Case]) -> None:
    """PostgreSQL's plan (EXPLAIN ANALYZE) of each statement on the member table that
    one search request runs: the bounded count and the page."""
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        for case in cases:
            captured.clear()
            contextvars.Context().run(case.client.get, "/admin/members/",
                                      query_string={"search": case.term})
            print(f"\n## {case.who} {case.kind} {case.term!r}")
            for statement, parameters in list(captured):
                if "FROM member" not in statement or statement.startswith("EXPLAIN"):
                    continue
                with engine.connect() as connection:
                    plan = connection.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
                print(" ".join(statement.split())[:200], parameters)
                print("\n".join("    " + row[0] for row in plan))
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=URL)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    app = create_app(app_config(args.database_url) | {"LOG_LEVEL": "WARNING"})
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Member))
        keyed = db.session.scalar(select(func.count(Member.search_key)))
        db.session.remove()
    print(f"{total:,} members ({keyed:,} with a search key) in {args.database_url}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    cases = build_cases(app)
    if args.explain:
        explain(app, cases)
    meter = SqlMeter()
    with app.app_context():
        meter.install(db.engine)
    for case in cases:
        for _ in range(WARMUP):
            timed(case, meter)
    gc.collect()
    gc.freeze()
    for _ in range(args.repeat):
        for case in cases:
            elapsed, db_seconds = timed(case, meter)
            case.times.append(elapsed * 1000)
            case.db_times.append(db_seconds * 1000)
    report(cases, args.repeat)


def report(cases: list[Case], repeat: int) -> None:
    print(f"\n{repeat} timed requests per case, ms (nearest-rank), Hindi pages\n")
    print(f"{'viewer':44} {'search':11} {'term':14} {'found':>8} {'p50':>7} {'p95':>7} "
          f"{'db p50':>7} {'p95/base':>8} {'p95/list':>8}")
    baseline = {c.who: percentile(c.times, 95) for c in cases if c.kind == "baseline"}
    listed = {c.who: percentile(c.times, 95) for c in cases if c.kind == "list"}
    worst = 0.0
    for case in cases:
        p95 = percentile(case.times, 95)
        if case.kind not in ("baseline", "list"):
            worst = max(worst, p95)
        print(f"{case.who:44} {case.kind:11} {case.term or '-':14} {case.found:>8} "
              f"{percentile(case.times, 50):7.1f} {p95:7.1f} "
              f"{percentile(case.db_times, 50):7.1f} {p95 / baseline[case.who]:8.2f} "
              f"{p95 / listed[case.who]:8.2f}"
              + ("" if case.status == 200 else f"  HTTP {case.status}"))
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"\nworst search p95 {worst:.1f} ms; target p95 < {TARGET_MS} ms: "
          f"{'met' if worst < TARGET_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
