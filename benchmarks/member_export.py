"""The member list's CSV export at 1M members: every row, in constant memory.

    # build the database first (generate_members.py; any name but `test`), then:
    BACKOFFICE_ENV=development .venv/bin/python benchmarks/member_export.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    # also what lifting the 10,000-row cap without streaming would cost (loads all rows):
    BACKOFFICE_ENV=development .venv/bin/python benchmarks/member_export.py --naive

Each case runs in a fresh process (multiprocessing "spawn"), so each peak RSS
(``ru_maxrss``) is that case's own, and all cases run in the same invocation, one
after the other, against the same database:

  baseline  the app started, the state admin logged in, one member list page drawn:
            what any worker holds before it exports anything
  block     GET /admin/members/export/csv/ as the Bilha block president
  district  the same as the Bilaspur district president
  state     the same as the state admin: every member
  naive     (--naive) the state admin's rows as the export read them before
            (Flask-Admin's get_list(..., execute=True): every model object in a list)

Each request goes through the Flask test client in-process (session keys set as
tests/conftest.py's Browser does; Hindi), and its body is read in chunks and
counted, never held. An export past EXPORT_JOB_ROWS is a job (docs/jobs.md): with
JOBS_QUEUE = "inline" it runs in the request, which then sends its file, so the
figures are the job's work (writing, hashing, storing) plus the sending. Reported:
rows, megabytes, seconds from the request to the last byte, rows/s, peak RSS and
its growth over the baseline. The goal: the
state's growth over the baseline about the same as the block's (memory that does
not grow with the rows), and every row in the file.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
CASES = {"baseline": None, "block": "block.bilha@demo.sadasya.in",
         "district": "district.bilaspur@demo.sadasya.in", "state": "admin@demo.sadasya.in",
         "naive": "admin@demo.sadasya.in"}
EXPORT = "/admin/members/export/csv/"


def _config(url: str) -> dict:
    return {"ENV": "development", "SECRET_KEY": "bench-secret", "DATABASE_URL": url,
            "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://",
            "JOBS_QUEUE": "inline",
            "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}}


def _client(app, email: str):
    """A test client logged in as ``email``, as tests/conftest.py's Browser does."""
    from flask_login.utils import _create_identifier
    from sqlalchemy import select

    from backoffice.auth.second_factor import SESSION_OK
    from backoffice.extensions import db
    from backoffice.models import StaffUser

    client = app.test_client()
    client.set_cookie("lang", "hi")
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        user_key, user_id = user.get_id(), user.id
        db.session.remove()
    with client.session_transaction() as session:
        session.update({"_user_id": user_key, "_fresh": True, "_id": identifier,
                        SESSION_OK: user_id})
    return client


def _naive_rows(app, email: str) -> int:
    """The rows as the export loaded them before it streamed: one list of objects
    (Flask-Admin's get_list with execute=True, the 10,000-row cap lifted)."""
    from flask_admin.contrib.sqla import ModelView
    from flask_login import login_user
    from sqlalchemy import select

    from backoffice.extensions import db
    from backoffice.models import StaffUser
    from backoffice.views.members import MemberView

    view = next(v for v in app.extensions["admin"][0]._views if type(v) is MemberView)
    with app.test_request_context(EXPORT):
        login_user(db.session.scalar(select(StaffUser).where(StaffUser.email == email)))
        _count, rows = ModelView.get_list(view, 0, None, False, None, [], execute=True,
                                          page_size=0)
        return len(rows)


def run_case(name: str, url: str, queue) -> None:
    """One case in this (fresh) process; puts its figures on ``queue``."""
    from backoffice import create_app

    app = create_app(_config(url))
    client = _client(app, CASES[name] or CASES["state"])
    assert client.get("/admin/members/").status_code == 200  # warm: templates, units
    rows = size = 0
    started = time.perf_counter()
    if name == "naive":
        rows = _naive_rows(app, CASES[name])
    elif name != "baseline":
        response = client.get(EXPORT, buffered=False)
        assert response.status_code == 200, response.status_code
        for chunk in response.response:
            size += len(chunk)
            rows += chunk.count(b"\n")  # one line end per row (no field holds one)
        response.close()
        rows -= 1  # the heading
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((name, rows, size, seconds, peak_mb))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--naive", action="store_true",
                        help="also load every row at once, as the export did before")
    args = parser.parse_args()
    names = ["baseline", "block", "district", "state"] + (["naive"] if args.naive else [])
    spawn = multiprocessing.get_context("spawn")
    results = {}
    for name in names:
        queue = spawn.Queue()
        process = spawn.Process(target=run_case, args=(name, args.database_url, queue))
        process.start()
        results[name] = queue.get()
        process.join()
    base = results["baseline"][4]
    print(f"{'case':<10}{'rows':>12}{'MB':>9}{'seconds':>10}{'rows/s':>10}"
          f"{'peak RSS MB':>13}{'over baseline':>15}")
    for name, rows, size, seconds, peak in results.values():
        rate = f"{rows / seconds:,.0f}" if rows and seconds else "-"
        print(f"{name:<10}{rows:>12,}{size / 1e6:>9.1f}{seconds:>10.1f}{rate:>10}"
              f"{peak:>13.0f}{peak - base:>+15.0f}")


if __name__ == "__main__":
    main()
