"""The checker's final-roll file at a million members: its size and the server's time to
make it, against the plainest list of the same facts made from the same rows.

    BACKOFFICE_ENV=development .venv/bin/python benchmarks/roll_check_list.py \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench] [--repeat 3]

In one transaction, rolled back at the end: freezes a state-wide roll of the `bench`
database (benchmarks/generate_members.py), publishes and finalises it, and revokes
1,000 of its members. Then prints, median of --repeat:

- the roll file (services/roll_check.py: booth-grouped zigzag varints, zlib, signed):
  its bytes, bytes per entry, and the time to make it (query, encode, compress, sign);
- the baseline: the same rows as JSON ``[["CG000000017", "12", 3], ...]`` gzipped
  (level 6, as a web server would): its bytes and time; and both ratios;
- the index (/check/rolls.json, with the revoked numbers): its time and bytes;
- with --synthetic N, no database: N entries made up as a freeze numbers them (member
  ids drawn from 1.4 N, booths "1" to "240", serials per booth in id order), the file's
  bytes for a roll of exactly N entries;
- with --browser, in Debian's chromium: a lookup of a number on no roll (the whole file
  read, as static/check/numbers.js does; its loop copied here) against one plain pass
  summing the same bytes, the least any lookup in the file must do.

With --serve N, what a phone's requests cost instead (in the same rolled-back
transaction, every session of the app joining it, as the tests do): besides the roll,
a card for each approved member of the database and a superseded one for every 300th
(what the revocation list reads), and the 1,000 revoked members. Then, through the app
(Flask's test client, the whole request in process, no network), the time of one
request to /check/revoked.json, /check/rolls.json and /check/rolls/<id>.bin: the first
in a fresh process (nothing kept), then the median of N repeated, then of N asking with
the ETag (304), each against the same for a static file the same app serves
(/static/check/check.js); and the first request for a roll file no process stored
(made under the lock), as a roll finalised before the files were stored would be:

    BACKOFFICE_ENV=development .venv/bin/python benchmarks/roll_check_list.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_search --serve 200 \
        --redis-url redis://127.0.0.1:6379/<a db of your own: the run's queued jobs stay there>
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import tempfile
import time
from datetime import date, timedelta

from sqlalchemy import select, text, update

from backoffice import create_app
from backoffice.extensions import db
from backoffice.models import Member, RollEntry, StaffUser, Unit
from backoffice.services import roll_check, rolls
from backoffice.services.membership_numbers import format_membership_no

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"


def baseline(roll_id: int) -> bytes:
    rows = db.session.execute(
        select(RollEntry.member_id, RollEntry.booth_no, RollEntry.serial)
        .where(RollEntry.roll_id == roll_id, RollEntry.removed.is_(False))
        .order_by(RollEntry.booth_key, RollEntry.booth_no, RollEntry.serial)
        .execution_options(yield_per=5000))
    body = json.dumps([[format_membership_no(m), b, s] for m, b, s in rows],
                      separators=(",", ":")).encode()
    return gzip.compress(body, 6)


def timed(make):
    started = time.perf_counter()
    made = make()
    return time.perf_counter() - started, made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=URL)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--synthetic", type=int, default=0)
    parser.add_argument("--serve", type=int, default=0)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/1")
    args = parser.parse_args()
    if args.synthetic:
        synthetic(args.synthetic)
        return
    if args.serve:
        serve(args.database_url, args.redis_url, args.serve)
        return
    instance = tempfile.mkdtemp()  # a card key made for the run, not the checkout's
    app = create_app({"ENV": "development", "SQLALCHEMY_DATABASE_URI": args.database_url,
                      "INSTANCE_PATH": instance, "CHECK_ROLLS_SECONDS": 0})
    with app.app_context(), app.test_request_context():
        admin, roll, entries, today = frozen_state_roll()
        try:
            rolls.publish(admin, roll.id, today, today=today)
            rolls.finalise(admin, roll.id, today=today + timedelta(days=1))
            db.session.execute(update(Member).where(Member.id.in_(
                select(RollEntry.member_id).where(RollEntry.roll_id == roll.id)
                .order_by(RollEntry.member_id).limit(1000))).values(status="revoked"),
                execution_options={"audited": True})  # rolled back: nothing to audit
            db.session.flush()
            db.session.execute(text("ANALYZE roll_entry"))  # as autovacuum would have
            db.session.execute(text("ANALYZE member"))
            body = report(roll, entries, args.repeat)
            if args.browser:
                in_browser(body)
        finally:
            db.session.rollback()
            db.engine.dispose()
            shutil.rmtree(instance)


def report(roll, entries: int, repeat: int) -> None:
    ours, theirs, index_times = [], [], []
    data = plain = index = b""
    for _ in range(repeat):
        seconds, data = timed(lambda: roll_check.store_roll_file(roll))  # as finalise does
        ours.append(seconds)
        seconds, plain = timed(lambda: baseline(roll.id))
        theirs.append(seconds)
        seconds, signed = timed(roll_check.index)
        index_times.append(seconds)
        index = json.dumps(signed).encode()
    body = roll_check.open_roll(data)
    assert len(roll_check.decode_entries(body)[1]) == entries
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    print(f"{entries:,} entries, median of {repeat}:")
    print(f"  roll file (signed, zlib):        {len(data):>10,} bytes = "
          f"{len(data) / entries:.2f} bytes/entry ({len(body):,} uncompressed), "
          f"made in {ours_s:.2f} s")
    print(f"  baseline (JSON numbers, gzip 6): {len(plain):>10,} bytes = "
          f"{len(plain) / entries:.2f} bytes/entry, made in {theirs_s:.2f} s")
    print(f"  size ratio file/baseline: {len(data) / len(plain):.2f}; "
          f"time ratio file/baseline: {ours_s / theirs_s:.2f}")
    print(f"  index with 1,000 revoked numbers: {len(index):,} bytes, made in "
          f"{statistics.median(index_times) * 1000:.0f} ms")
    return body


def synthetic(entries: int) -> None:
    import random

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    rng = random.Random(2026)
    ids = rng.sample(range(1, entries * 14 // 10), entries)
    booth = {member_id: rng.randint(1, 240) for member_id in ids}
    serials: dict[int, int] = {}
    rows = []
    for member_id in sorted(ids, key=lambda member_id: (booth[member_id], member_id)):
        serials[booth[member_id]] = serials.get(booth[member_id], 0) + 1
        rows.append((member_id, str(booth[member_id]), serials[booth[member_id]]))
    body = roll_check.encode_entries(1, rows)
    data = roll_check.sign_roll(1, body, Ed25519PrivateKey.generate())
    plain = gzip.compress(json.dumps([[f"CG{m:08d}0", b, s] for m, b, s in rows],
                                     separators=(",", ":")).encode(), 6)
    print(f"synthetic, {entries:,} entries: roll file {len(data):,} bytes = "
          f"{len(data) / entries:.2f} bytes/entry ({len(body):,} uncompressed); "
          f"baseline JSON gzip 6 {len(plain):,} bytes; ratio {len(data) / len(plain):.2f}")


def serve(url: str, redis_url: str, repeat: int) -> None:
    import logging
    logging.getLogger("backoffice.access").setLevel(logging.ERROR)  # a line per request
    instance = tempfile.mkdtemp()  # a card key made for the run, not the checkout's
    app = create_app({"ENV": "development", "SQLALCHEMY_DATABASE_URI": url,
                      "INSTANCE_PATH": instance, "RATELIMIT_ENABLED": False,
                      # the jobs finalising queues (the roll's PDF) wait in Redis for a
                      # worker that is not there: a thread would use the shared connection
                      "JOBS_QUEUE": "rq", "JOBS_REDIS_URL": redis_url})
    with app.app_context():
        engine = db.engine
        connection = engine.connect()
        outer = connection.begin()
        db._app_engines[app][None] = connection  # every session joins `outer`
        try:
            with app.test_request_context():
                roll_id = prepare(app)
            measure(app, roll_id, repeat)
        finally:
            db.session.remove()
            outer.rollback()
            connection.close()
            db._app_engines[app][None] = engine
            engine.dispose()
            shutil.rmtree(instance)


def frozen_state_roll():
    """The state admin and a state roll frozen today, with its entry count (printed)."""
    admin = db.session.scalar(select(StaffUser).where(
        StaffUser.email == "admin@demo.sadasya.in"))
    state = db.session.scalar(select(Unit).where(Unit.level == "state"))
    today = date.today()
    roll = rolls.create(admin, state, today, "benchmark roll")
    seconds, entries = timed(lambda: rolls.freeze(admin, roll.id))
    print(f"freeze: {entries:,} entries in {seconds:.1f} s")
    return admin, roll, entries, today


def prepare(app) -> int:
    admin, roll, _entries, today = frozen_state_roll()
    rolls.publish(admin, roll.id, today, today=today)
    seconds, _ = timed(lambda: rolls.finalise(admin, roll.id, today=today + timedelta(days=1)))
    print(f"finalise, the roll's file made and stored with it: {seconds:.1f} s")
    db.session.execute(text(
        "INSERT INTO member_card (card_id, member_id, issued_at, statement_sha256) "
        "SELECT substr(md5(id::text), 1, 16), id, now(), md5(id::text) FROM member "
        "WHERE status = 'approved'"))
    db.session.execute(text(
        "INSERT INTO member_card (card_id, member_id, issued_at, revoked_at, statement_sha256) "
        "SELECT substr(md5('old' || id::text), 1, 16), id, now(), now(), md5(id::text) "
        "FROM member WHERE status = 'approved' AND id % 300 = 0"))
    db.session.execute(update(Member).where(Member.id.in_(
        select(RollEntry.member_id).where(RollEntry.roll_id == roll.id)
        .order_by(RollEntry.member_id).limit(1000))).values(status="revoked"),
        execution_options={"audited": True})  # rolled back: nothing to audit
    for table in ("roll_entry", "member", "member_card", "stored_file", "stored_chunk"):
        db.session.execute(text(f"ANALYZE {table}"))  # as autovacuum would have
    cards_made = db.session.scalar(text("SELECT count(*) FROM member_card"))
    print(f"{cards_made:,} cards, 1,000 members revoked")
    db.session.commit()  # the savepoint: the requests' sessions see it all
    return roll.id


def _forget(app) -> None:
    """A fresh process: nothing kept."""
    for kept in ("check_revoked", "roll_check_index", "roll_check_files"):
        app.extensions.pop(kept, None)


def _request(client, path: str, headers=None):
    started = time.perf_counter()
    answer = client.get(path, headers=headers or {})
    seconds = time.perf_counter() - started
    assert answer.status_code in (200, 304), (path, answer.status_code)
    return seconds, answer


def measure(app, roll_id: int, repeat: int) -> None:
    from backoffice import storage
    client = app.test_client()
    paths = {"static file": "/static/check/check.js", "revoked.json": "/check/revoked.json",
             "rolls.json": "/check/rolls.json", "rolls/<id>.bin": f"/check/rolls/{roll_id}.bin"}
    rows = {}
    for label, path in paths.items():
        _forget(app)
        first, answer = _request(client, path)
        again = [_request(client, path)[0] for _ in range(repeat)]
        etag = {"If-None-Match": answer.headers["ETag"]} if "ETag" in answer.headers else {}
        revalidated = [_request(client, path, etag) for _ in range(repeat)]
        assert not etag or all(a.status_code == 304 for _, a in revalidated), label
        rows[label] = (first, statistics.median(again),
                       statistics.median(s for s, _ in revalidated), len(answer.data))
    app.config["CHECK_REVOKED_SECONDS"] = 0  # made at each request, as before it was kept
    rows["revoked.json, made each time"] = (
        rows["revoked.json"][0],
        statistics.median(_request(client, paths["revoked.json"])[0] for _ in range(5)),
        float("nan"), rows["revoked.json"][3])
    static = rows["static file"]
    print(f"per request, through the app in process; repeated and 304: median of {repeat} "
          f"(made each time: of 5)")
    print(f"  {'':28} {'bytes':>10} {'first ms':>9} {'repeated ms':>12} {'x static':>9} "
          f"{'304 ms':>7} {'x static':>9}")
    for label, (first, again, revalidated, size) in rows.items():
        print(f"  {label:28} {size:>10,} {first * 1000:>9.1f} {again * 1000:>12.2f} "
              f"{again / static[1]:>9.1f} {revalidated * 1000:>7.2f} "
              f"{revalidated / static[2]:>9.1f}")
    with app.test_request_context():  # a roll finalised before the files were stored
        names = [name for (name,) in db.session.execute(text(
            "SELECT name FROM stored_file WHERE name LIKE 'check-rolls/%'"))]
        for name in names:
            storage.delete(name)
        db.session.commit()
    _forget(app)
    seconds, answer = _request(client, paths["rolls/<id>.bin"])
    print(f"  rolls/<id>.bin with no stored file (made once, under the lock): "
          f"{seconds * 1000:.0f} ms, {len(answer.data):,} bytes")


#: numbers.js's find(), and the baseline: one pass over the same bytes
LOOKUP = """([b64, target]) => {
  const bin = atob(b64), body = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) { body[i] = bin.charCodeAt(i); }
  const newline = body.indexOf(10);
  const header = JSON.parse(new TextDecoder().decode(body.subarray(0, newline)));
  function find(target) {
    let position = newline + 1;
    for (const [booth, last] of header.booths) {
      let previous = 0;
      for (let serial = 1; serial <= last; serial++) {
        let value = 0, scale = 1, byte;
        do { byte = body[position++]; value += (byte & 127) * scale; scale *= 128; }
        while (byte >= 128);
        if (value) {
          previous += value % 2 === 0 ? value / 2 : -(value + 1) / 2;
          if (previous === target) { return [booth, serial]; }
        }
      }
    }
    return null;
  }
  function sum() { let total = 0; for (let i = 0; i < body.length; i++) { total += body[i]; }
                   return total; }
  const times = {find: [], sum: []};
  for (let round = 0; round < 21; round++) {
    let started = performance.now(); find(target); times.find.push(performance.now() - started);
    started = performance.now(); sum(); times.sum.push(performance.now() - started);
  }
  const median = (list) => list.sort((a, b) => a - b)[10];
  return {find: median(times.find), sum: median(times.sum), found: find(target)};
}"""


def in_browser(body: bytes) -> None:
    import base64

    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        result = page.evaluate(LOOKUP, [base64.b64encode(body).decode(), 2 ** 40])
        browser.close()
    assert result["found"] is None
    print(f"  chromium, a number on no roll (whole file read), median of 21: "
          f"{result['find']:.1f} ms; one pass summing the bytes: {result['sum']:.1f} ms; "
          f"ratio {result['find'] / result['sum']:.1f}")


if __name__ == "__main__":
    main()
