"""Server time of the member list per role, at 10k and 1M members, against stock Flask-Admin.

    # build the two databases first (see generate_members.py), then:
    BACKOFFICE_ENV=development .venv/bin/python benchmarks/member_list.py
    BACKOFFICE_ENV=development .venv/bin/python benchmarks/member_list.py --repeat 100 \
        --small postgresql+psycopg://postgres@127.0.0.1:5432/bench_small \
        --large postgresql+psycopg://postgres@127.0.0.1:5432/bench
    # one database only, with the SQL of one request per case:
    BACKOFFICE_ENV=development .venv/bin/python benchmarks/member_list.py --small '' --show-sql
    # also the dashboard (/admin/, the landing page) per role:
    BACKOFFICE_ENV=development .venv/bin/python benchmarks/member_list.py --dashboard

For every demo login (backoffice.services.demo.DEMO_STAFF) it times GET
/admin/members/ in-process with the Flask test client (session keys set as
tests/conftest.py's Browser.login_as does; each request in its own app
context), from the WSGI call to the last byte of the body, at:

  first  the list as opened (?page absent)
  last   the deepest page the pager offers that the app serves: ?page=min(last, 199)
         (ScopedModelView clamps the page index to count_bound // page_size - 1)
  99999  a hand-typed deep page: clamped, and when that page is empty the app
         re-runs the list for its last page

Next to it, a stock ``flask_admin.contrib.sqla.ModelView(Member, db)`` on a
separate Admin at /stock/members (column_default_sort=("id", True), page_size
50, and MemberView's column_list so both render the same cells) at its first
page and its real last page (?page=(N-1)//50, OFFSET N-50); and the count
query alone: ours (BoundedCountQuery, state-wide) and the stock count(*).

Both databases are opened in one process (an app each) and every case of both
sizes gets 3 warm-up requests, then --repeat timed ones, all cases of both sizes
round-robin: drift on a shared machine hits the 10k baseline and the 1M figure
alike, instead of whichever size ran during a slow spell. After the warm-ups
the heap is frozen (gc.freeze(), as a server would after start-up): otherwise
Python's full collections, 60-90 ms each over the app's ~130k+ loaded objects,
land on arbitrary requests and decide p95 (--no-gc-freeze keeps them in). Reported: p50 and
p95 in ms (nearest-rank), the database's share (p50 of the time spent inside
cursor.execute, per request) and statements per request. Then the ratios:
1M p95 / 10k p95 per role and page (target <= 1.3), and ours / stock p95 for
deep pages and state-wide (target < 1).
"""

from __future__ import annotations

import argparse
import contextvars
import gc
import math
import re
import statistics
import time
from dataclasses import dataclass, field

from flask_admin import Admin, AdminIndexView
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme
from flask_login import login_user
from flask_login.utils import _create_identifier
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from backoffice import create_app

try:  # the TOTP second factor (being added): its session flag, if this checkout has it
    from backoffice.auth.second_factor import SESSION_OK as SECOND_FACTOR_OK
except ImportError:
    SECOND_FACTOR_OK = None
from backoffice.extensions import db
from backoffice.models import Member, StaffUser, Unit
from backoffice.services.demo import DEMO_STAFF
from backoffice.views.base import ScopedModelView
from backoffice.views.members import MemberView

SMALL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_small"
LARGE = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
PAGE_SIZE = 50
WARMUP = 3
ROW_MARK = '<td class="col-full_name">'


def app_config(url: str) -> dict:
    return {"ENV": "development", "SECRET_KEY": "bench-secret", "DATABASE_URL": url,
            "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://",
            "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}}


class StockMemberView(ModelView):
    """Flask-Admin as shipped, over the same table: no scope, count(*), plain OFFSET."""

    column_default_sort = ("id", True)
    page_size = PAGE_SIZE
    column_list = MemberView.column_list


# --- SQL accounting ---------------------------------------------------------------------------

class SqlMeter:
    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.statements: list[str] | None = None

    def reset(self, capture: bool = False) -> None:
        self.count, self.seconds = 0, 0.0
        self.statements = [] if capture else None

    def install(self, engine) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info["bench_t0"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def after(conn, cursor, statement, parameters, context, executemany):
            self.count += 1
            self.seconds += time.perf_counter() - conn.info.pop("bench_t0")
            if self.statements is not None:
                self.statements.append(_inline(statement, parameters))


def _inline(statement: str, parameters) -> str:
    if isinstance(parameters, dict):
        for key in sorted(parameters, key=len, reverse=True):
            statement = statement.replace(f"%({key})s", repr(parameters[key]))
    statement = " ".join(statement.split())
    # the 33-column select list of the page query, shortened for reading
    return re.sub(r"SELECT member\.id AS member_id, .*? FROM member",
                  "SELECT member.id, ...every column... FROM member", statement)


# --- cases ----------------------------------------------------------------------------------

@dataclass
class Case:
    who: str           # role label or "stock ModelView"
    page: str          # first | last | 99999 | count
    url: str | None    # None: a count-only case (run)
    offset: str = ""   # the OFFSET the rows come from, for the reader
    scope_rows: int = 0
    client: object = None
    run: object = None
    times: list[float] = field(default_factory=list)
    db_times: list[float] = field(default_factory=list)
    statements: int = 0
    shown_rows: int = -1
    status: int = 0


def login(app, client, user_id: int) -> None:
    """As tests/conftest.py's Browser.login_as: Flask-Login's session keys, set directly."""
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
        user_key = db.session.get(StaffUser, user_id).get_id()  # "id" or "id:version"
        db.session.remove()
    with client.session_transaction() as session:
        session["_user_id"] = user_key
        session["_fresh"] = True
        session["_id"] = identifier
        if SECOND_FACTOR_OK:  # as if past the two-step login, where the app has one
            session[SECOND_FACTOR_OK] = user_id


def last_page(rows: int, bounded: bool) -> int:
    """The 0-based index of the last page the app actually serves."""
    seen = min(rows, ScopedModelView.count_bound + 1) if bounded else rows
    last = max(math.ceil(seen / PAGE_SIZE) - 1, 0)
    if bounded:
        last = min(last, max(ScopedModelView.count_bound // PAGE_SIZE - 1, 0))
    return last


def build_cases(app, meter: SqlMeter, dashboard: bool) -> tuple[list[Case], int]:
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Member))
        users = {}
        for role, code, email, _name in DEMO_STAFF:
            user_id = db.session.scalar(select(StaffUser.id).where(StaffUser.email == email))
            unit = db.session.scalar(select(Unit).where(Unit.code == code))
            column = {"state": None, "division": Member.division_id,
                      "district": Member.district_id, "block": Member.block_id,
                      "zone": Member.zone_id}[unit.level]
            rows = total if column is None else db.session.scalar(
                select(func.count()).select_from(Member).where(column == unit.id))
            users[email] = (role, code, user_id, rows)
        state_admin_id = users[DEMO_STAFF[0][2]][2]
        db.session.remove()

    cases = []
    for role, code, user_id, rows in users.values():
        client = app.test_client()
        client.set_cookie("lang", "hi")  # the default language, as most users see it
        login(app, client, user_id)
        last = last_page(rows, bounded=True)
        who = f"{role} {code}"
        cases.append(Case(who, "first", "/admin/members/", "0", rows, client))
        cases.append(Case(who, "last", f"/admin/members/?page={last}",
                          f"{last * PAGE_SIZE}", rows, client))
        # ?page=99999 is clamped to 199; if that page is empty, the app's last page.
        clamped = ScopedModelView.count_bound // PAGE_SIZE - 1
        deep = f"{clamped * PAGE_SIZE}" if rows > clamped * PAGE_SIZE else \
            f"{clamped * PAGE_SIZE} then {last * PAGE_SIZE}"
        cases.append(Case(who, "99999", "/admin/members/?page=99999", deep, rows, client))
        if dashboard:  # not the list: the landing page, counting members by status
            cases.append(Case(who, "dash", "/admin/", "", rows, client))

    client = app.test_client()
    client.set_cookie("lang", "hi")
    login(app, client, state_admin_id)
    stock_last = last_page(total, bounded=False)
    cases.append(Case("stock ModelView", "first", "/stock/members/", "0", total, client))
    cases.append(Case("stock ModelView", "last", f"/stock/members/?page={stock_last}",
                      f"{stock_last * PAGE_SIZE}", total, client))

    # The count queries alone, state-wide: ours bounded, stock count(*).
    stock_view = app.extensions["bench_stock_view"]
    ours_view = next(v for v in app.extensions["admin"][0]._views
                     if isinstance(v, MemberView) and v.endpoint == "members")

    def count_run(view):
        def run():
            with app.test_request_context():
                login_user(db.session.get(StaffUser, state_admin_id))
                view.get_count_query()  # loads the user's grants (cached per request)
                meter.reset()
                started = time.perf_counter()
                value = view.get_count_query().scalar()
                elapsed = time.perf_counter() - started
                db_seconds = meter.seconds
                db.session.remove()
                return elapsed, db_seconds, value
        return run

    cases.append(Case("state_admin CG", "count", None, "", total,
                      run=count_run(ours_view)))
    cases.append(Case("stock ModelView", "count", None, "", total,
                      run=count_run(stock_view)))
    return cases, total


def timed(case: Case, meter: SqlMeter, capture: bool = False) -> tuple[float, float]:
    if case.run is not None:
        elapsed, db_seconds, value = case.run()
        case.shown_rows, case.status, case.statements = value, 200, 1
        return elapsed, db_seconds
    meter.reset(capture)

    def get():
        started = time.perf_counter()
        response = case.client.get(case.url)
        body = response.get_data()  # the whole body: rendering included
        return time.perf_counter() - started, response.status_code, body

    # A fresh contextvars context per request, as tests/conftest.py's IsolatedClient does.
    elapsed, status, body = contextvars.Context().run(get)
    case.status, case.statements = status, meter.count
    case.shown_rows = body.count(ROW_MARK.encode())
    return elapsed, meter.seconds


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


def prepare(url: str, show_sql: bool, dashboard: bool) -> tuple[list[Case], SqlMeter, int]:
    """One app over one database, its cases built and warmed up."""
    app = create_app(app_config(url))
    stock_admin = Admin(app, name="stock", url="/stock", endpoint="stockadmin",
                        theme=Bootstrap4Theme(swatch="default", fluid=True),
                        index_view=AdminIndexView(url="/stock", endpoint="stockadmin"))
    stock_view = StockMemberView(Member, db, name="Stock members",
                                 endpoint="stock_members", url="/stock/members")
    stock_admin.add_view(stock_view)
    app.extensions["bench_stock_view"] = stock_view
    meter = SqlMeter()
    with app.app_context():
        assert db.engine.url.database == make_url(url).database, db.engine.url
        meter.install(db.engine)

    cases, total = build_cases(app, meter, dashboard)
    for case in cases:
        for _ in range(WARMUP):
            timed(case, meter)
        if show_sql and case.url:
            timed(case, meter, capture=True)
            print(f"\n-- {case.who} {case.page} {case.url}: {len(meter.statements)} statements")
            for statement in meter.statements:
                if "member" in statement.split(" FROM ", 1)[-1]:  # the list's own queries
                    print("   ", statement)
    return cases, meter, total


def measure(sizes: list[tuple[list[Case], SqlMeter]], repeat: int, gc_freeze: bool) -> str:
    """Time every case of every size round-robin: a slow spell on the shared machine
    lands on 10k and 1M cases alike instead of on whichever size ran during it."""
    if gc_freeze:
        # A full (generation 2) collection walks every object the apps have loaded
        # (~130k+ each: templates, Babel and phonenumbers data, Flask-Admin): 60-90 ms
        # here, landing on whichever request trips it. Freezing the warmed-up heap, as a
        # server would at start, keeps those pauses out of the list's numbers.
        gc.collect()
        gc.freeze()
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    try:
        for _ in range(repeat):
            for cases, meter in sizes:
                for case in cases:
                    elapsed, db_seconds = timed(case, meter)
                    case.times.append(elapsed * 1000)
                    case.db_times.append(db_seconds * 1000)
    finally:
        gc.callbacks.remove(pauses)
        gc.unfreeze()
    return (f"Python gc during the timed requests: {pauses.full} full collections, "
            f"{pauses.seconds * 1000:.0f} ms in all; heap {'frozen' if gc_freeze else 'not frozen'}"
            f" after warm-up")


class GcPauses:
    def __init__(self) -> None:
        self.full, self.seconds, self._started = 0, 0.0, 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.full += info["generation"] == 2


def print_table(label: str, total: int, results: dict) -> None:
    print(f"\n== {label}: {total:,} members ==")
    print(f"{'who':<36} {'page':<6} {'in scope':>9} {'OFFSET':>13} {'rows':>5} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'db p50':>8} {'stmts':>5} {'http':>4}")
    for case in results.values():
        print(f"{case.who:<36} {case.page:<6} {case.scope_rows:>9,} {case.offset:>13} "
              f"{case.shown_rows:>5} {statistics.median(case.times):>8.1f} "
              f"{percentile(case.times, 95):>8.1f} {statistics.median(case.db_times):>8.1f} "
              f"{case.statements:>5} {case.status:>4}")


def p95(results: dict, key) -> float:
    return percentile(results[key].times, 95)


def print_ratios(small: dict | None, large: dict | None) -> None:
    if small and large:
        print("\n== growth: p95 at 1M / p95 at 10k (target <= 1.3) ==")
        print(f"{'who':<36} {'page':<6} {'10k p95':>8} {'1M p95':>8} {'ratio':>7}      "
              f"{'p50 ratio':>9} {'db p50 10k -> 1M':>17}")
        for key, case in large.items():
            if key not in small or case.page == "count":
                continue
            ratio = p95(large, key) / p95(small, key)
            p50_ratio = statistics.median(case.times) / statistics.median(small[key].times)
            print(f"{case.who:<36} {case.page:<6} {p95(small, key):>8.1f} "
                  f"{p95(large, key):>8.1f} {ratio:>6.2f}x {'ok  ' if ratio <= 1.3 else 'OVER'} "
                  f"{p50_ratio:>8.2f}x {statistics.median(small[key].db_times):>8.1f} -> "
                  f"{statistics.median(case.db_times):>5.1f}")
    for label, results in (("10k", small), ("1M", large)):
        if not results:
            continue
        print(f"\n== ours / stock ModelView, p95, {label} (target < 1) ==")
        stock_deep = p95(results, ("stock ModelView", "last"))
        for key, case in results.items():
            if case.who.startswith("stock") or case.page not in ("last", "99999"):
                continue
            ratio = p95(results, key) / stock_deep
            print(f"deep page  {case.who:<36} {case.page:<6} {p95(results, key):>8.1f} / "
                  f"{stock_deep:>8.1f} = {ratio:5.2f}x {'ahead' if ratio < 1 else 'BEHIND'}")
        state, stock_view = "state_admin CG", "stock ModelView"
        for what, ours, stock in (
                ("state-wide first page", (state, "first"), (stock_view, "first")),
                ("state-wide count only", (state, "count"), (stock_view, "count"))):
            ratio = p95(results, ours) / p95(results, stock)
            print(f"{what:<22} {p95(results, ours):>8.2f} / {p95(results, stock):>8.2f} = "
                  f"{ratio:5.2f}x {'ahead' if ratio < 1 else 'BEHIND'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", default=SMALL, help="10k database URL ('' to skip)")
    parser.add_argument("--large", default=LARGE, help="1M database URL ('' to skip)")
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--show-sql", action="store_true",
                        help="print the SQL of one request per case")
    parser.add_argument("--dashboard", action="store_true",
                        help="also time /admin/ (the dashboard) per role, as page 'dash'")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="leave Python's full garbage collections in the timings")
    args = parser.parse_args()
    if not 1 <= args.repeat <= 1000:
        parser.error("--repeat must be 1..1000")
    prepared = []
    for label, url in (("10k", args.small), ("1M", args.large)):
        if url:
            cases, meter, total = prepare(url, args.show_sql, args.dashboard)
            prepared.append((label, url, cases, meter, total))
    started = time.perf_counter()
    note = measure([(cases, meter) for _l, _u, cases, meter, _t in prepared], args.repeat,
                   args.gc_freeze)
    measured = {}
    for label, url, cases, _meter, total in prepared:
        measured[label] = {(c.who, c.page): c for c in cases}
        print_table(f"{label} ({make_url(url).database})", total, measured[label])
    print(f"\n({time.perf_counter() - started:.0f} s; {args.repeat} timed requests per case "
          f"after {WARMUP} warm-ups, every case of both sizes in turn; {note})")
    print_ratios(measured.get("10k"), measured.get("1M"))


if __name__ == "__main__":
    main()
