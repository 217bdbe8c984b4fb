"""How long /join takes to answer a new signup and a refused one (voter ID taken).

    BACKOFFICE_ENV=development .venv/bin/python benchmarks/join_timing.py \
        [--page join|status] [--rounds 40] [--gateway-ms 300] \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_join]

With ``--page status``: /status's lookup of a registered voter ID (a code is sent)
against an unknown one (a stand-in), the same way: "new" is the registered one,
"refused" the unknown one (docs/status.md).

The join page must not tell who is a member, by its answer or by its time.
A stand-in gateway keeps the codes in memory and takes --gateway-ms to send,
as a real provider takes a network round trip. Each round posts one new
signup and one refused one (alternating which goes first), through the Flask
test client in-process, and times the POST. Medians, 90th percentiles and
the ratio of medians (refused / new) are printed; the target is a ratio
between 0.9 and 1.1. A few new signups first teach the process how long the
gateway takes (a refused signup's stand-in is paced by it).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time

from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backoffice import create_app
from backoffice.extensions import db
from backoffice.models import Unit
from backoffice.services import units as unit_service
from backoffice.sms.console import MemoryGateway

DETAILS = {"full_name": "Kavita Yadav", "relation": "husband", "relative_name": "Rajesh Yadav",
           "gender": "female", "date_of_birth": "1991-02-03", "address": "Kota",
           "booth_no": "8", "consent": "y", "website": ""}
TAKEN = "TKN0000001"


class SlowGateway(MemoryGateway):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def send_code(self, phone, code, text, locale):
        time.sleep(self.seconds)
        return super().send_code(phone, code, text, locale)


def fresh_database(url: str | None, tmp: str) -> str:
    if not url:
        return f"sqlite:///{tmp}/join-bench.sqlite3"
    name = make_url(url).database
    if name == "test":
        raise SystemExit("refusing to use the test suite's database")
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


def make_app(url: str, tmp: str, gateway_seconds: float):
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "x" * 40,
        "INSTANCE_PATH": f"{tmp}/instance", "SMS_GATEWAY": "memory", "JOIN_MIN_SECONDS": 0,
        "RATELIMIT_ENABLED": False, "OTP_PHONE_LIMIT": "1000/hour",
        "OTP_IP_LIMIT": "100000/hour", "WTF_CSRF_ENABLED": False,
        "MAX_MEMBERS_PER_PHONE": 1000})
    app.extensions["sms_gateway"] = SlowGateway(gateway_seconds)
    with app.app_context():
        upgrade()
        unit_service.load_units(unit_service.read_units_csv())
        db.session.commit()
        block = db.session.scalar(db.select(Unit.id).where(Unit.level == "block").limit(1))
    return app, block


def post(app, block: int, n: int, epic: str) -> float:
    client = app.test_client()
    page = client.get("/join").get_data(as_text=True)
    started = re.search(r'name="started" type="hidden" value="([^"]*)"', page).group(1)
    data = DETAILS | {"block_id": block, "started": started, "epic": epic,
                      "mobile": f"98{n:08d}"}
    begun = time.perf_counter()
    response = client.post("/join", data=data)
    elapsed = time.perf_counter() - begun
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--gateway-ms", type=float, default=300)
    parser.add_argument("--database-url")
    parser.add_argument("--page", choices=("join", "status"), default="join")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(args.database_url, tmp)
        app, block = make_app(url, tmp, args.gateway_ms / 1000)
        if args.page == "status":
            return report(app, status_times(app, block, args.rounds))
        post(app, block, 0, TAKEN)  # the voter ID now taken
        for n in range(1, 6):  # the process learns how long the gateway takes
            post(app, block, n, f"WRM{n:07d}")
        times = {"new": [], "refused": []}
        for n in range(args.rounds):
            order = ["new", "refused"] if n % 2 else ["refused", "new"]
            for kind in order:
                number = 1000 + 2 * n + (kind == "refused")
                epic = f"NEW{number:07d}" if kind == "new" else TAKEN
                times[kind].append(post(app, block, number, epic))
        report(app, times)


def report(app, times: dict[str, list[float]]) -> None:
    for kind, values in times.items():
        values.sort()
        print(f"{kind:8} median {statistics.median(values) * 1000:7.1f} ms   "
              f"p90 {values[int(len(values) * 0.9)] * 1000:7.1f} ms")
    ratio = statistics.median(times["refused"]) / statistics.median(times["new"])
    print(f"ratio of medians (refused / new): {ratio:.2f}")
    with app.app_context():
        db.engine.dispose()


def look_up(app, typed: str) -> float:
    client = app.test_client()
    begun = time.perf_counter()
    response = client.post("/status", data={"number": typed})
    elapsed = time.perf_counter() - begun
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return elapsed


def status_times(app, block: int, rounds: int) -> dict[str, list[float]]:
    """Members joined first (their voter IDs registered); then each round looks up one
    registered voter ID and one unknown, alternating which goes first."""
    app.config.update(STATUS_LOOKUP_LIMIT="1000/hour")
    for n in range(rounds + 5):
        post(app, block, 5000 + n, f"REG{n:07d}")
    for n in range(rounds, rounds + 5):  # the process learns how long the gateway takes
        look_up(app, f"REG{n:07d}")
    times = {"new": [], "refused": []}
    for n in range(rounds):
        order = ["new", "refused"] if n % 2 else ["refused", "new"]
        for kind in order:
            times[kind].append(look_up(app, f"REG{n:07d}" if kind == "new" else f"UNK{n:07d}"))
    return times


if __name__ == "__main__":
    main()
