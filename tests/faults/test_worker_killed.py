"""A gunicorn worker killed (SIGKILL) in the middle of a /join signup: no half-written
member, no member without its audit event, no verification without its member. Killed
while the SMS provider is being asked, the member is there whole (it was committed
first); killed while its transaction waits inside the database write (PostgreSQL), the
member is not there at all. Then the master's new worker serves the signup again."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from tests import live
from tests.conftest import POSTGRES_URL
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, VERIFY_SID
from tests.faults.servers import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


class SilentProvider:
    """A stand-in Twilio on the loopback that takes the request and never answers."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.asked = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)
            self.asked.set()

    def close(self) -> None:
        """Refuse connections from now on (shutdown also wakes the blocked accept)."""
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for connection in self.held:
            connection.close()


class Gunicorn:
    """`gunicorn -w 1 wsgi:app` (threads, as deployed) on a free loopback port."""

    def __init__(self, env: dict, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("wb") as out:
            self.master = subprocess.Popen(
                [str(GUNICORN), "-w", "1", "-k", "gthread", "--threads", "4", "-b",
                 f"127.0.0.1:{self.port}", "--timeout", "120", "wsgi:app"],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.log = log
        try:
            self.wait_serving()
        except BaseException:  # never leave a server behind that no fixture will stop
            self.stop()
            raise

    def worker(self) -> int | None:
        """The worker's pid: the master's child (read from /proc)."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.master.pid:
                return int(stat.parent.name)
        return None

    def wait_serving(self, timeout: float = 120) -> int:  # a loaded machine boots slowly
        deadline = time.monotonic() + timeout
        while True:
            assert self.master.poll() is None, self.log.read_text()[-3000:]
            try:
                if live.Client(self.url, timeout=5).get("/healthz").status == 200:
                    return self.worker()
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not serve:\n" + \
                self.log.read_text()[-3000:]
            time.sleep(0.2)

    def stop(self) -> None:
        if self.master.poll() is None:
            self.master.send_signal(signal.SIGTERM)
            try:
                self.master.wait(30)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait(10)


def join_form(client, block_id: int, mobile: str) -> dict:
    page = client.get("/join").text
    started = re.search(r'name="started" type="hidden" value="([^"]*)"', page).group(1)
    return {"full_name": "Kavita Yadav", "relation": "husband",
            "relative_name": "Rajesh Yadav", "gender": "female",
            "date_of_birth": "1991-02-03", "mobile": mobile, "epic": "", "address": "Kota",
            "booth_no": "8", "consent": "y", "website": "", "block_id": block_id,
            "started": started}


def post_in_background(client, fields: dict) -> tuple[threading.Thread, list]:
    outcome: list = []

    def post():
        try:
            outcome.append(client.post("/join", fields, token_from="/join"))
        except OSError as error:  # the worker died under the request
            outcome.append(error)

    worker = threading.Thread(target=post, daemon=True)
    worker.start()
    return worker, outcome


def consistent(url: str) -> dict:
    """The register's invariants, over every row; and the counts of what it holds."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            audited = " UNION ".join(
                f"SELECT entity_id FROM {table} WHERE entity_type = 'member'"  # noqa: S608
                for table in ("audit_event", "audit_pending") if table in tables)
            unaudited = connection.execute(text(
                f"SELECT count(*) FROM member WHERE id NOT IN ({audited})")).scalar()  # noqa: S608
            orphans = connection.execute(text(
                "SELECT count(*) FROM phone_verification v WHERE NOT EXISTS "
                "(SELECT 1 FROM member m WHERE m.id = v.member_id)")).scalar()
            half = connection.execute(text(
                "SELECT count(*) FROM member WHERE full_name = '' OR mobile IS NULL "
                "OR block_id IS NULL OR district_id IS NULL OR consent_at IS NULL")).scalar()
            return {"members without their audit event": unaudited,
                    "verifications without their member": orphans,
                    "half-written members": half}
    finally:
        engine.dispose()


def rows_for(url: str, phone: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            members = connection.execute(text("SELECT count(*) FROM member WHERE mobile = :p"),
                                         {"p": phone}).scalar()
            sends = connection.execute(text(
                "SELECT count(*) FROM phone_verification WHERE phone = :p"), {"p": phone}).scalar()
            return members, sends
    finally:
        engine.dispose()


def activity(connection, condition: str) -> int:
    """Backends of this database meeting ``condition``, as of now (pg_stat_activity is
    otherwise read once per transaction)."""
    connection.execute(text("SELECT pg_stat_clear_snapshot()"))
    return connection.execute(text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
        + condition)).scalar()


@pytest.fixture
def provider():
    made = SilentProvider()
    yield made
    made.close()


@pytest.fixture
def server(scratch, provider, tmp_path):
    env = live.environment(
        tmp_path, "gunicorn", DATABASE_URL=scratch.url, SMS_GATEWAY="twilio_verify",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_VERIFY_SERVICE_SID=VERIFY_SID, TWILIO_API_BASE_URL=provider.url,
        SMS_TIMEOUT_SECONDS=90, JOIN_MIN_SECONDS=0, DATABASE_LOCK_TIMEOUT_MS=90000)
    started = Gunicorn(env, tmp_path / "gunicorn.log")
    yield started
    started.stop()


CLEAN = {"members without their audit event": 0, "verifications without their member": 0,
         "half-written members": 0}


def test_a_worker_killed_while_the_provider_is_asked_leaves_the_member_whole(
        scratch, provider, server):
    client = live.Client(server.url)
    fields = join_form(client, scratch.people["kota"], "9812300031")
    request, outcome = post_in_background(client, fields)
    assert provider.asked.wait(60), "the signup never reached the SMS provider"
    worker = server.worker()
    os.kill(worker, signal.SIGKILL)  # only the worker this test's gunicorn started
    request.join(60)
    assert not request.is_alive() and isinstance(outcome[0], OSError), outcome

    # Committed before the provider was asked: the member, their audit event and the
    # claimed send, all there; nothing half-written anywhere.
    assert rows_for(scratch.url, "+919812300031") == (1, 1)
    assert consistent(scratch.url) == CLEAN
    assert server.wait_serving() != worker  # the master started a new worker


@pytest.mark.skipif(not POSTGRES_URL, reason="holds a PostgreSQL row lock to stop the "
                    "request inside its write")
def test_a_worker_killed_inside_the_database_write_leaves_no_member(scratch, provider, server):
    phone = "+919812300032"
    engine = create_engine(scratch.url)
    try:
        with engine.connect() as holder:
            # The block's row locked: the member's INSERT waits on its foreign key check.
            holder.execute(text("SELECT id FROM unit WHERE id = :id FOR UPDATE"),
                           {"id": scratch.people["kota"]})
            client = live.Client(server.url)
            fields = join_form(client, scratch.people["kota"], phone[3:])
            request, outcome = post_in_background(client, fields)
            deadline = time.monotonic() + 60
            while not activity(holder, "wait_event_type = 'Lock'"):
                assert time.monotonic() < deadline, "the signup never waited on the lock"
                time.sleep(0.1)
            os.kill(server.worker(), signal.SIGKILL)
            request.join(60)
            assert not request.is_alive() and isinstance(outcome[0], OSError), outcome
            holder.rollback()  # the dead request's backend goes on, finds no client, aborts
        deadline = time.monotonic() + 60
        with engine.connect() as watcher:
            while activity(watcher, "pid <> pg_backend_pid() AND state <> 'idle'"):
                assert time.monotonic() < deadline, "the killed request's transaction lives on"
                time.sleep(0.1)
    finally:
        engine.dispose()
    assert rows_for(scratch.url, phone) == (0, 0)  # all of the signup, or none of it
    assert consistent(scratch.url) == CLEAN

    server.wait_serving()
    provider.close()  # the provider refuses now: the retry is not held up by it
    client = live.Client(server.url)
    answer = client.post("/join", join_form(client, scratch.people["kota"], phone[3:]),
                         token_from="/join", follow=False)
    assert answer.status == 302  # the same signup, again: it is recorded now
    assert rows_for(scratch.url, phone)[0] == 1
