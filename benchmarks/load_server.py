"""The app as benchmarks/load.py and benchmarks/soak.py serve it under gunicorn.

`gunicorn --pythonpath benchmarks load_server:app` builds the ordinary app (create_app,
configured by the BACKOFFICE_* environment the benchmark sets) and adds two things a
load test needs and production must never have, so they live here, outside the
package, and refuse anything but a development configuration:

- an outbox the load generator can read: the SMS "gateway" writes each code to a file
  named after the phone in LOAD_BENCH_OUTBOX (a temporary directory of the run), so
  whichever worker sent a code, the generator finds it;
- per-request figures in response headers: the worker's CPU time spent on the request
  (time.process_time), and the SQL statements, transactions and connection checkouts
  it made (SQLAlchemy events), so the benchmark can print them per step.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import event

from backoffice import create_app
from backoffice.extensions import db
from backoffice.sms.console import MemoryGateway

OUTBOX = os.environ.get("LOAD_BENCH_OUTBOX")
#: a directory: each worker writes every request's SQL statements to trace-<pid>.txt
TRACE = os.environ.get("LOAD_BENCH_TRACE")


class FileOutboxGateway(MemoryGateway):
    """Writes each code to <outbox>/<phone>: the benchmark's only way to read codes."""

    name = "memory"

    def __init__(self, directory: str) -> None:
        super().__init__(size=10)
        self.directory = Path(directory)

    def send_code(self, phone, code, text, locale):
        sent = super().send_code(phone, code, text, locale)
        digits = "".join(c for c in text if c.isdigit())[:6]
        temporary = self.directory / f".{phone}.{os.getpid()}"
        temporary.write_text(digits)
        temporary.replace(self.directory / phone)  # whole, or not there yet
        return sent


class Counters:
    """What the current request did; one request at a time per sync worker."""

    statements = transactions = checkouts = 0

    def reset(self) -> None:
        self.statements = self.transactions = self.checkouts = 0


def _instrument(app) -> None:
    counters = Counters()
    with app.app_context():
        engine = db.engine

    trace = open(Path(TRACE) / f"trace-{os.getpid()}.txt", "a") if TRACE else None  # noqa: SIM115

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_connection, _cursor, statement, *_args):
        counters.statements += 1
        if trace:
            trace.write("  " + " ".join(statement.split())[:300] + "\n")

    @event.listens_for(engine, "begin")
    def _begin(_connection):
        counters.transactions += 1

    @event.listens_for(engine.pool, "checkout")
    def _checkout(*_args):
        counters.checkouts += 1

    inner = app.wsgi_app

    def measured(environ, start_response):
        counters.reset()
        if trace:
            trace.write(f"== {environ['REQUEST_METHOD']} {environ['PATH_INFO']}\n")
            trace.flush()
        cpu = time.process_time()

        def start(status, headers, exc_info=None):
            headers = [*headers,
                       ("X-Bench-CPU-us", str(int((time.process_time() - cpu) * 1e6))),
                       ("X-Bench-SQL", str(counters.statements)),
                       ("X-Bench-Transactions", str(counters.transactions)),
                       ("X-Bench-Checkouts", str(counters.checkouts)),
                       ("X-Bench-Worker", str(os.getpid()))]
            return start_response(status, headers, exc_info)

        return inner(environ, start)

    app.wsgi_app = measured


def create():
    app = create_app()
    if app.config["ENV"] != "development" or app.config["SMS_GATEWAY"] != "memory" \
            or not OUTBOX:
        raise RuntimeError("load_server is for benchmarks only: BACKOFFICE_ENV=development, "
                           "BACKOFFICE_SMS_GATEWAY=memory and LOAD_BENCH_OUTBOX are required")
    app.extensions["sms_gateway"] = FileOutboxGateway(OUTBOX)
    _instrument(app)
    return app


app = create()
