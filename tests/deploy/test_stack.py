"""The stack test: docs/deploying.md followed on one machine. nginx (the site rendered from
deploy/nginx/) in front of two gunicorn app servers (deploy/gunicorn.conf.py, started as
deploy/sadasya-web@.service starts them) on two loopback ports, and a job worker
(deploy/sadasya-worker@.service), sharing a PostgreSQL database and a Redis of the test's
own; settings from deploy/sadasya.env.template filled in; the app in production mode,
its SMS through the real Twilio gateway code to a stand-in Twilio on the loopback.

A drive's journey runs through nginx as browsers from different addresses: an enroller
records and verifies members, people sign up at /join, the block president approves, the
district imports a paper file, the returning officer freezes and exports a roll. Meanwhile
one app server is killed with SIGKILL and started again, the other reloaded gracefully,
and Redis restarted. Then the README's upgrade to a second release with one more
migration (this code copied into a folder of the test's, the migration written into the
copy) and its rollback with `db downgrade`, each app server restarted in turn while pages
keep loading."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
import requests
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backoffice.services.demo import DEMO_STAFF
from tests.conftest import POSTGRES_URL
from tests.deploy.fake_twilio import FakeTwilio
from tests.deploy.stack import (
    DEPLOY,
    GUNICORN,
    NGINX,
    OPENSSL,
    REDIS_SERVER,
    ROOT,
    VENV_BIN,
    Browser,
    Process,
    Redis,
    free_port,
    make_release,
    read_env_file,
    unit_command,
    wait_for,
    write_env_file,
)
from tests.jobs.test_workers import forms_csv
from tests.live import FAST_HASH
from tests.views.test_member_forms import FORM

MISSING = [name for name, found in (("nginx", NGINX), ("gunicorn", GUNICORN.exists()),
                                    ("redis-server", REDIS_SERVER), ("openssl", OPENSSL))
           if not found]
pytestmark = [
    pytest.mark.postgres_only, pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="the stack runs on PostgreSQL "
                       "(BACKOFFICE_TEST_DATABASE_URL)"),
    pytest.mark.skipif(bool(MISSING), reason=f"the stack test needs {', '.join(MISSING)} "
                       "(Debian: apt-get install nginx-light redis-server openssl; "
                       "gunicorn: pip install -e '.[serve]'; .ci/run installs them)"),
]

ACCOUNT = "AC" + "5" * 32
PASSWORD = "demo-pass-2026"  # noqa: S105 - `backoffice demo`'s printed password
STAFF = {role: email for role, _code, email, _name in DEMO_STAFF}
ENROLLER = "enroller.bilha@demo.sadasya.in"
PRESIDENT = "block.bilha@demo.sadasya.in"
DISTRICT = STAFF["district_president"]
OFFICER = STAFF["returning_officer"]
NAMES = ["अनीता साहू", "सुरेश पटेल", "गीता वर्मा", "महेश यादव", "ललिता कश्यप", "दिनेश साहू",
         "सरिता ध्रुव", "रमेश मरकाम", "पूजा देवांगन"]


class Stack:
    """What the fixture started, and the operator's command line."""

    def __init__(self, tmp, owner_url, redis, fake, cert, base, command_env):
        self.tmp, self.owner_url, self.redis, self.fake = tmp, owner_url, redis, fake
        self.cert, self.base, self.command_env = cert, base, command_env
        # /srv/sadasya/current: a symlink to the release running (this checkout at first)
        self.current = tmp / "current"
        self.current.symlink_to(ROOT)
        self.web: list[Process] = []
        self.ports: list[int] = []
        self.access_log = tmp / "nginx-logs" / "sadasya.access.log"

    def backoffice(self, *args: str, timeout: float = 180, exit_code: int = 0,
                   release=None) -> str:
        """`$B <args>`, as the operator runs it on the host: B is the `backoffice-env` of
        `release`'s folder, by default that of `current` (README, Deploying, step 4)."""
        script = (release or self.current) / "deploy" / "backoffice-env"
        done = subprocess.run([str(script), *args], env=self.command_env,
                              capture_output=True, text=True, timeout=timeout, check=False)
        assert done.returncode == exit_code, (args, done.stdout[-3000:], done.stderr[-3000:])
        return done.stdout

    def start_backoffice(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([str(self.current / "deploy" / "backoffice-env"), *args],
                                env=self.command_env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish(self, command: subprocess.Popen) -> str:
        output, _ = command.communicate(timeout=180)
        assert command.returncode == 0, (command.args, output[-3000:])
        return output

    def nginx_test(self) -> None:
        """`nginx -t`."""
        conf, errors = self.nginx_conf / "nginx.conf", self.tmp / "nginx-logs" / "error.log"
        checked = subprocess.run([NGINX, "-t", "-c", str(conf), "-e", str(errors)],
                                 capture_output=True, text=True, timeout=30, check=False)
        assert checked.returncode == 0, checked.stderr

    def sql(self, statement: str, **params):
        engine = create_engine(self.owner_url)
        try:
            with engine.connect() as connection:
                return connection.execute(text(statement), params).all()
        finally:
            engine.dispose()

    def browser(self, source: str) -> Browser:
        return Browser(self.base, source, self.cert)

    def logs(self) -> str:
        """The app servers' and nginx's last lines, for a failure's report."""
        errors = self.tmp / "nginx-logs" / "sadasya.error.log"
        return "\n".join([*(p.logs() for p in self.web), "--- nginx:",
                          errors.read_text(errors="replace")[-3000:]])


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def healthy(url: str) -> bool:
    return requests.get(url + "/healthz", timeout=2).status_code == 200


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stack")
    name = f"stack_{uuid.uuid4().hex[:10]}"
    role, role_password = f"{name}_app", secrets.token_hex(16)
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{role_password}'")
    owner_url = make_url(POSTGRES_URL).set(database=name)
    app_url = owner_url.set(username=role, password=role_password)
    fake = FakeTwilio(ACCOUNT)
    started: list[Process] = []
    began = time.monotonic()

    def took(what: str) -> None:  # shown with a failure: where the start-up's time went
        print(f"{time.monotonic() - began:6.1f} s  {what}")  # noqa: T201
    try:
        redis = Redis(tmp / "redis")
        started.append(redis)
        http_port, https_port = free_port(), free_port()
        base = f"https://127.0.0.1:{https_port}"

        # The env file: the template with this host's values; nothing the template lacks
        # but the stand-ins and speed-ups of a rehearsal.
        template = read_env_file(DEPLOY / "sadasya.env.template")
        instance = tmp / "instance"
        filled = {
            "BACKOFFICE_INSTANCE_PATH": str(instance),
            "BACKOFFICE_SECRET_KEY": secrets.token_hex(32),
            "BACKOFFICE_DATABASE_URL": app_url.render_as_string(hide_password=False),
            "BACKOFFICE_RATELIMIT_STORAGE_URL": f"redis://127.0.0.1:{redis.port}/0",
            "BACKOFFICE_JOBS_REDIS_URL": f"redis://127.0.0.1:{redis.port}/1",
            "BACKOFFICE_PUBLIC_BASE_URL": base,
            "BACKOFFICE_AUDIT_SIGNING_KEY": str(instance / "audit-signing-key.pem"),
            "BACKOFFICE_CARD_SIGNING_KEY": str(instance / "card-signing-key.pem"),
            "BACKOFFICE_TWILIO_ACCOUNT_SID": ACCOUNT,
            "BACKOFFICE_TWILIO_AUTH_TOKEN": secrets.token_hex(16),
            "BACKOFFICE_TWILIO_MESSAGING_SERVICE_SID": "MG" + "7" * 32,
            "SADASYA_WORKERS": "2",  # two servers on a shared 2-core machine
        }
        assert set(filled) <= set(template), set(filled) - set(template)
        rehearsal = {
            "BACKOFFICE_TWILIO_API_BASE_URL": fake.url,
            "BACKOFFICE_PASSWORD_HASH": FAST_HASH,  # the demo's staff, hashed quickly
            "BACKOFFICE_JOIN_MIN_SECONDS": "0",  # the test types fast
            "BACKOFFICE_JOB_HEARTBEAT_SECONDS": "1", "BACKOFFICE_JOB_STALE_SECONDS": "10",
            "BACKOFFICE_JOB_MAINTENANCE_SECONDS": "2", "BACKOFFICE_JOB_REDELIVER_SECONDS": "3",
        }
        settings = template | filled | rehearsal
        assert settings["BACKOFFICE_ENV"] == "production"
        assert settings["BACKOFFICE_PROXY_COUNT"] == "1"
        assert not [k for k, v in settings.items() if "CHANGE_ME" in v]
        env_file, migrate_file = tmp / "env", tmp / "migrate.env"
        write_env_file(env_file, settings)
        write_env_file(migrate_file, {"BACKOFFICE_MIGRATION_DATABASE_URL":
                                      owner_url.render_as_string(hide_password=False)})
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("BACKOFFICE_", "SADASYA_"))}
        command_env = clean | {"SADASYA_ENV_FILE": str(env_file),
                               "SADASYA_MIGRATE_ENV_FILE": str(migrate_file)}
        service_env = clean | settings  # what systemd's EnvironmentFile= gives a unit

        # The certificate nginx serves (certbot's, on a server).
        cert, key = tmp / "cert.pem", tmp / "key.pem"
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True,
                       capture_output=True, timeout=60)
        made = Stack(tmp, owner_url.render_as_string(hide_password=False), redis, fake, cert,
                     base, command_env)
        # a unit with both EnvironmentFile= lines (sadasya-backup.service)
        made.owner_env = service_env | read_env_file(migrate_file)

        # docs/deploying.md: migrate as the owner, grant the app role, make the key, check.
        made.backoffice("db", "upgrade")
        took("migrated")
        made.backoffice("db", "grant-app-role", role)
        # Independent steps side by side: each command starts the app (seconds on a
        # busy machine), and the order among them does not matter.
        keygen = made.start_backoffice("audit", "keygen")
        card_keygen = made.start_backoffice("cards", "keygen")
        made.command_env["SADASYA_ADMIN_PASSWORD"] = secrets.token_hex(8)
        assert "made" in made.backoffice("setup", "--admin-email", "admin@stack.example",
                                         "--admin-name", "Stack Admin")
        demo = subprocess.run(  # staff to log in with: the demo's, development only
            [str(VENV_BIN / "backoffice"), "demo", "--members", "0"], cwd=ROOT,
            env=service_env | {"BACKOFFICE_ENV": "development"}, capture_output=True,
            text=True, timeout=180, check=False)
        assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
        made.finish(keygen)
        made.finish(card_keygen)
        took("role granted, first admin, keys, demo staff")

        for _ in range(2):
            port = free_port()
            command, extra = unit_command("sadasya-web@.service", str(port), made.current)
            web = Process(f"web-{port}", command, service_env | extra, tmp / f"web-{port}.log",
                          made.current)
            started.append(web)
            made.web.append(web)
            made.ports.append(port)
        # while the app servers start: all is well but for the stand-in Twilio itself
        found = made.backoffice("doctor", exit_code=1)
        assert [line for line in found.splitlines() if line.startswith("PROBLEM")] == [
            "PROBLEM sms: TWILIO_API_BASE_URL is set: SMS go to a stand-in on this host, "
            "not to Twilio; unset it."], found
        for web, port in zip(made.web, made.ports, strict=True):
            wait_for(lambda p=port: healthy(f"http://127.0.0.1:{p}"), 90,
                     f"app server {port} answering", web.logs)
            # README, Deploying, step 5: curl -s http://127.0.0.1:8001/readyz
            ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
            assert (ready.status_code, ready.json()) == (200, {
                "database": "ok", "migrations": "ok", "redis": "ok"}), ready.text
        took("doctor, two app servers answering")
        command, extra = unit_command("sadasya-worker@.service", "1", made.current)
        made.worker = Process("worker", command, service_env | extra, tmp / "worker.log",
                              made.current)
        started.append(made.worker)

        conf = tmp / "nginx"
        (tmp / "nginx-logs").mkdir()
        # SADASYA_VENV: render-nginx-site's default, /srv/sadasya/current/.venv
        made.site_env = clean | {
            "SADASYA_SERVER_NAME": "127.0.0.1",
            "SADASYA_APP_SERVERS": " ".join(f"127.0.0.1:{p}" for p in made.ports),
            "SADASYA_HTTP_LISTEN": f"127.0.0.1:{http_port}",
            "SADASYA_HTTPS_LISTEN": f"127.0.0.1:{https_port}",
            "SADASYA_TLS_CERT": str(cert), "SADASYA_TLS_KEY": str(key),
            "SADASYA_LOG_DIR": str(tmp / "nginx-logs"),
            "SADASYA_VENV": str(made.current / ".venv")}
        made.nginx_conf = conf
        subprocess.run([str(made.current / "deploy" / "render-nginx-site"), str(conf)], check=True,
                       capture_output=True, timeout=60, env=made.site_env)
        temp = {name: tmp / "nginx-temp" / name for name in
                ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
        for folder in temp.values():
            folder.mkdir(parents=True)
        # nginx's own main file, as Debian's /etc/nginx/nginx.conf includes sites; paths
        # in the test's folder.
        (conf / "nginx.conf").write_text("\n".join([
            "user root;" if os.geteuid() == 0 else "",
            "worker_processes 2;", "daemon off;", f"pid {tmp / 'nginx.pid'};",
            f"error_log {tmp / 'nginx-logs' / 'error.log'};",
            "events { worker_connections 512; }",
            "http {", "include /etc/nginx/mime.types;",
            "default_type application/octet-stream;",
            *[f"{name}_temp_path {path};" for name, path in temp.items()],
            f"include {conf / 'sites-available' / 'sadasya'};", "}", ""]))
        made.nginx_test()
        made.nginx = nginx = Process("nginx", [NGINX, "-c", str(conf / "nginx.conf"),
                                  "-e", str(tmp / "nginx-logs" / "error.log")],
                        clean, tmp / "nginx.log")
        started.append(nginx)
        wait_for(lambda: requests.get(base + "/healthz", verify=str(cert),
                                      timeout=2).status_code == 200,
                 30, "nginx answering", nginx.logs)
        took("nginx answering")
        yield made
    finally:
        for process in reversed(started):
            process.stop(timeout=5)  # the test is over: no need to wait for goodbyes
        fake.stop()
        with admin.connect() as connection:
            connection.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM "
                                       f"pg_stat_activity WHERE datname = '{name}'")
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            connection.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()


def test_nginx_serves_static_files_cached_and_compressed_and_guards_the_door(stack):
    browser = stack.browser("127.0.0.2")
    css = browser.get("/static/sadasya.css?v=0123abcd", headers={"Accept-Encoding": "gzip"},
                      stream=True)
    raw = css.raw.read()
    assert css.status_code == 200 and css.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(raw) == (ROOT / "backoffice/static/sadasya.css").read_bytes()
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "X-Request-ID" not in css.headers  # nginx answered, no app server
    plain = browser.get("/static/sadasya.css")
    assert plain.headers["Cache-Control"] == "public, max-age=600"
    admin_css = browser.get("/admin/static/admin/css/bootstrap4/admin.css?v=1")
    assert admin_css.status_code == 200 and "immutable" in admin_css.headers["Cache-Control"]

    page = browser.get("/login")  # the app's pages: through nginx, not compressed
    assert page.status_code == 200 and "Content-Encoding" not in page.headers
    for linked in set(re.findall(r'"(/(?:admin/)?static/[^"?]+\?v=[^"]+)"', page.text)):
        assert "immutable" in browser.get(linked).headers["Cache-Control"], linked
    assert re.fullmatch(r"[0-9a-f]{32}", page.headers["X-Request-ID"])
    assert page.headers["Strict-Transport-Security"]  # the app sees https
    http_port = re.search(r"listen 127\.0\.0\.1:(\d+);", (
        stack.tmp / "nginx" / "sites-available" / "sadasya").read_text()).group(1)
    moved = requests.get(f"http://127.0.0.1:{http_port}/login", allow_redirects=False,
                         timeout=10)
    assert moved.status_code == 301 and moved.headers["Location"] == "https://127.0.0.1/login"
    too_big = browser.session.post(stack.base + "/login", data=b"x" * 3_000_000, timeout=30)
    assert too_big.status_code == 413
    other_name = browser.get("/login", headers={"Host": "elsewhere.example"})
    assert other_name.status_code == 421
    missing = browser.get("/static/no-such-file.css")
    assert missing.status_code == 404
    # nginx's own answers carry the security headers too; the app's keep theirs alone
    # (one policy, with the page's nonce, not nginx's added beside it).
    for answer in (too_big, other_name, missing):
        assert_secured_by_nginx(answer)
    assert "'nonce-" in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"  # once, not "DENY, DENY"
    assert "Content-Security-Policy" not in css.headers  # a file itself: no policy


def assert_secured_by_nginx(answer) -> None:
    headers = answer.headers
    assert "X-Request-ID" not in headers, answer.status_code  # no app server answered
    policy = headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, (
        answer.status_code, dict(headers))
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Strict-Transport-Security"] == "max-age=31536000"


def test_a_drive_through_nginx_survives_a_killed_app_server_and_a_redis_restart(stack):
    s = stack
    units = dict(s.sql("SELECT code, id FROM unit WHERE code IN "
                       "('BLK-BILHA', 'DIST-BILASPUR')"))
    stop = threading.Event()
    polled: list[int] = []

    def poll() -> None:  # a dashboard left open, reloading: requests in flight at the kill
        viewer = s.browser("127.0.0.9")
        while not stop.is_set():
            try:
                polled.append(viewer.get("/login").status_code)
            except requests.RequestException:
                polled.append(0)
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    helpers = [poller]
    try:
        # Per-client limits see each client's own address through nginx.
        crowd, other = s.browser("127.0.0.7"), s.browser("127.0.0.8")
        answers = [crowd.post("/login", {"login": "nobody@example.invalid", "password": "x",
                                         "next": ""}, token_from="/login").status_code
                   for _ in range(21)]
        assert answers[:20] == [200] * 20 and answers[20] == 429, answers
        crowd.session.headers["X-Forwarded-For"] = "203.0.113.9"  # a client's own claim
        forged = crowd.post("/login", {"login": "nobody@example.invalid", "password": "x",
                                       "next": ""}, token_from="/login")
        assert forged.status_code == 429  # the address nginx saw is the one the app counts
        assert other.post("/login", {"login": "nobody@example.invalid", "password": "x",
                                     "next": ""}, token_from="/login").status_code == 200

        enroller = s.browser("127.0.0.2")
        enroller.log_in(ENROLLER, PASSWORD)
        recorded: list[str] = []

        def record(n: int) -> None:
            epic, mobile = f"STK{n:07d}", f"97{n:08d}"
            for _attempt in range(2):
                created = enroller.post("/admin/members/new/", FORM | {
                    "full_name": NAMES[n], "mobile": mobile, "epic": epic,
                    "block_id": units["BLK-BILHA"]}, token_from="/admin/members/new/",
                    allow_redirects=False)
                if created.status_code != 502:
                    break
                # The server that took the form died before answering: nothing was saved
                # (checked below, with nginx's log), and the enroller sends it again.
                assert s.sql("SELECT count(*) FROM member WHERE epic = :e", e=epic) == [(0,)]
            if created.status_code != 302:
                print(s.logs())  # noqa: T201 - the failure's report shows it
            assert created.status_code == 302, created.status_code
            location = urlsplit(created.headers["Location"])
            verify = f"{location.path}?{location.query}"
            assert verify.startswith("/admin/members/verify/?id=")
            sent = enroller.post(verify, {"step": "send"}, token_from=verify)
            assert sent.status_code == 200
            code = s.fake.last_code_for("+91" + mobile)
            assert code, sent.text[:1500]
            done = enroller.post(verify, {"step": "check", "code": code}, token_from=verify)
            assert done.status_code == 200
            assert s.sql("SELECT status FROM member WHERE epic = :e", e=epic) == [
                ("phone_verified",)]
            recorded.append(epic)

        for n in range(3):
            record(n)

        # One app server dies (SIGKILL: no goodbye), the drive goes on through the other.
        killed, killed_at = f"127.0.0.1:{s.ports[0]}", time.time()
        s.web[0].kill_all()
        # Its processes are gone once connections are refused; until then the kernel may
        # still take one for a socket about to close (a 502 nginx may not retry for a POST;
        # the record step below posts again then, as a person would).
        wait_for(lambda: refused(s.ports[0]), 10, "the killed server refusing connections")
        for n in range(3, 6):
            record(n)

        joined: list[str] = []
        for n in range(3):
            person = s.browser("127.0.0.3")
            form = person.get("/join")
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.text)
            started = re.search(r'name="started" type="hidden" value="([^"]*)"', form.text)
            mobile, epic = f"96{n:08d}", f"JNR{n:07d}"
            answer = person.session.post(s.base + "/join", timeout=60, allow_redirects=False,
                                         headers={"Referer": s.base + "/join"}, data={
                "csrf_token": token.group(1), "started": started.group(1),
                "full_name": NAMES[6 + n], "relation": "husband",
                "relative_name": "राजेश यादव", "gender": "female",
                "date_of_birth": "1991-02-03", "mobile": mobile, "epic": epic,
                "address": "ग्राम बिल्हा", "booth_no": "8", "consent": "y", "website": "",
                "block_id": units["BLK-BILHA"]})
            assert answer.status_code == 302, answer.text[:1500]
            done = person.post("/join/verify", {"code": s.fake.last_code_for("+91" + mobile)},
                               token_from="/join/verify")
            assert done.status_code == 200
            assert s.sql("SELECT status FROM member WHERE epic = :e", e=epic) == [
                ("phone_verified",)], done.text[:1500]
            joined.append(epic)

        # systemd starts it again; nginx sends it requests once it answers.
        s.web[0].start()
        wait_for(lambda: healthy(f"http://127.0.0.1:{s.ports[0]}"), 90,
                 "the killed app server answering again", s.web[0].logs)
        back_at = time.time()

        # A graceful reload of the other (`systemctl reload`): no request fails.
        s.web[1].signal(signal.SIGHUP)
        president = s.browser("127.0.0.4")
        president.log_in(PRESIDENT, PASSWORD)
        ids = [row[0] for row in s.sql("SELECT id FROM member WHERE epic = ANY(:epics)",
                                       epics=recorded + joined)]
        assert len(ids) == 9
        asked = president.post("/admin/queue/action/", {"action": "approve", "rowid": ids},
                               token_from="/admin/queue/", allow_redirects=False)
        location = urlsplit(asked.headers["Location"])  # "Approve 9 members?"
        confirm = f"{location.path}?{location.query}"
        approved = president.post(confirm, {"action": "approve",
                                            "ids": ",".join(map(str, ids))},
                                  token_from=confirm)
        assert approved.status_code == 200
        assert s.sql("SELECT DISTINCT status FROM member WHERE id = ANY(:ids)", ids=ids) == [
            ("approved",)], re.findall(r'class="alert[^>]*>(.*?)</div>', approved.text, re.S)

        # Redis restarts: limits and the queue's connections come back by themselves.
        s.redis.stop()
        district = s.browser("127.0.0.5")
        district.log_in(DISTRICT, PASSWORD)
        assert district.get("/admin/imports/").status_code == 200
        s.redis.start()
        # RQ's worker exits when Redis is gone at its next poll; its unit (Restart=always,
        # RestartSec=5, deploy/sadasya-worker@.service) starts it again, as this does for
        # the next minute.
        until = time.monotonic() + 60

        def restart_like_systemd():  # until the test ends: then the fixture stops it
            while time.monotonic() < until and not stop.is_set():
                if not s.worker.alive():
                    s.worker.start()
                stop.wait(1)

        helpers.append(threading.Thread(target=restart_like_systemd, daemon=True))
        helpers[-1].start()

        uploaded = district.post("/admin/imports/", {
            "unit_id": units["DIST-BILASPUR"], "receipt_books": "701-760"},
            token_from="/admin/imports/", files={"file": ("forms.csv", forms_csv(30))})
        assert "/admin/imports/batch/?id=" in uploaded.url, uploaded.text[:2000]
        batch = int(uploaded.url.rsplit("=", 1)[1])
        page = f"/admin/imports/batch/?id={batch}"
        for step, status in (("check", "checked"), ("commit", "committed")):
            district.post(f"/admin/imports/run/?id={batch}", {"step": step}, token_from=page)
            seen = []

            def reached(wanted=status, seen=seen) -> bool:
                seen.append(district.get(f"/admin/imports/progress/?id={batch}").json())
                return seen[-1]["status"] == wanted

            wait_for(reached, 90, f"the import {status}",
                     lambda seen=seen: f"{seen[-3:]}\n{s.worker.logs()}")

        officer = s.browser("127.0.0.6")
        secret = s.sql("SELECT totp_secret FROM staff_user WHERE email = :e", e=OFFICER)[0][0]
        officer.log_in(OFFICER, PASSWORD, code=lambda: pyotp.TOTP(secret).now())
        officer.post("/admin/rolls/new/", {
            "unit_id": units["DIST-BILASPUR"], "title": "Stack test conference",
            "cut_off": (date.today() + timedelta(days=1)).isoformat()},
            token_from="/admin/rolls/new/")
        roll = s.sql("SELECT max(id) FROM roll")[0][0]
        details = f"/admin/rolls/details/?id={roll}"
        officer.post(f"/admin/rolls/step/?id={roll}", {"action": "freeze"}, token_from=details)
        asked = officer.get(f"/admin/rolls/download/?id={roll}&format=csv")
        assert asked.status_code == 200
        link = []

        def offered() -> bool:
            link[:] = re.findall(r"/admin/rolls/file/\?job=\d+", officer.get(details).text)
            return bool(link)

        wait_for(offered, 90, "the roll file offered", s.worker.logs)
        roll_file = officer.get(link[0])
        assert roll_file.status_code == 200, roll_file.status_code
        rows = list(csv.reader(io.StringIO(roll_file.content.decode("utf-8-sig"))))[1:]
    finally:
        stop.set()  # no worker started again after this: the fixture stops the last one
        for thread in helpers:
            thread.join(10)

    # Every member accepted is there exactly once; the roll has the approved ones once each.
    counts = dict(s.sql("SELECT epic, count(*) FROM member WHERE epic = ANY(:e) GROUP BY epic",
                        e=recorded + joined))
    assert counts == dict.fromkeys(recorded + joined, 1)
    assert s.sql("SELECT count(*) FROM member WHERE status = 'approved'")[0][0] == 9
    paper = s.sql("SELECT right(mobile, 10), count(*) FROM member "
                  "WHERE right(mobile, 10) LIKE '98%' GROUP BY 1")
    assert sorted(paper) == sorted((f"98{n:08d}", 1) for n in range(30)), paper
    assert sorted(r[3] for r in rows) == sorted(NAMES), rows
    assert len({r[2] for r in rows}) == 9  # nine membership numbers

    # The audit chain verifies.
    assert "OK:" in s.backoffice("audit", "verify")

    # No 5xx but from the killed server while it was down; both servers served.
    lines = [json.loads(line) for line in s.access_log.read_text().splitlines()]
    for line in lines:
        if line["status"] >= 500:
            when = datetime.fromisoformat(line["time"]).timestamp()
            assert killed in line["upstream"] and killed_at - 1 <= when <= back_at + 1, line
    served = {port: [line for line in lines if line["upstream"].endswith(f":{port}")
                     and line["status"] < 500] for port in s.ports}
    assert all(len(served[port]) > 20 for port in s.ports), {p: len(v) for p, v in served.items()}
    assert any(datetime.fromisoformat(line["time"]).timestamp() > back_at
               for line in served[s.ports[0]])  # the restarted server takes requests again
    assert polled and all(status == 200 for status in polled), sorted(set(polled))


# The second release's one migration: a column nothing writes to, so that its downgrade
# loses nothing (docs/deploying.md, Upgrades and rollbacks).
REHEARSAL_MIGRATION = '''"""stack rehearsal: the second release of tests/deploy/test_stack.py

Revision ID: {revision}
Revises: {down_revision}
"""
import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("member", sa.Column("rehearsal_note", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("member", "rehearsal_note")
'''


def point_current_at(s, release) -> None:
    """ln -sfn RELEASE /srv/sadasya/current (made beside it and renamed over it: one step)."""
    link = s.current.with_name("current.new")
    link.unlink(missing_ok=True)
    link.symlink_to(release)
    link.replace(s.current)


def ready(port: int) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)


def restart_as_the_readme_does(s, release) -> None:
    """systemctl restart sadasya-web@8001 && until curl -sf .../readyz; do sleep 1; done
    systemctl restart sadasya-web@8002 sadasya-worker@1
    SADASYA_SERVER_NAME=... $R/deploy/render-nginx-site /etc/nginx && nginx -t && reload
    Each unit starts from `current` again; the second app server is waited for too before
    the test goes on, and each process is checked to run from `release`'s folder."""
    began = time.monotonic()
    visitor = s.browser("127.0.0.13")
    for web, port in zip(s.web, s.ports, strict=True):
        web.stop()
        # While it is down, pages come from the other server, at once: the first server
        # was refused a moment ago (nginx tried it) yet must not be held down when the
        # second is stopped right after the first is ready again.
        assert [visitor.get("/login").status_code for _ in range(3)] == [200] * 3, s.logs()
        web.start()
        wait_for(lambda p=port: ready(p).status_code == 200, 90,
                 f"app server {port} ready again", web.logs)
        assert Path(f"/proc/{web.process.pid}/cwd").resolve() == release.resolve()
        print(f"{time.monotonic() - began:6.1f} s  app server {port} ready")  # noqa: T201
    s.worker.stop(timeout=60)  # RQ's warm shutdown: the job in hand first
    print(f"{time.monotonic() - began:6.1f} s  worker stopped")  # noqa: T201
    s.worker.start()
    assert Path(f"/proc/{s.worker.process.pid}/cwd").resolve() == release.resolve()
    subprocess.run([str(release / "deploy" / "render-nginx-site"), str(s.nginx_conf)],
                   check=True, capture_output=True, timeout=60, env=s.site_env)
    site = (s.nginx_conf / "sites-available" / "sadasya").read_text()
    assert f"{release}/backoffice/static" in site  # the release's own static files
    s.nginx_test()
    s.nginx.signal(signal.SIGHUP)  # systemctl reload nginx


def assert_ahead_but_ready(s) -> None:
    """/readyz of each app server: the database migrated by newer code, still ready."""
    for port in s.ports:
        answer = ready(port)
        assert (answer.status_code, answer.json()["migrations"]) == (200, "ahead"), answer.text


def assert_doctor_names_only_the_stand_in(s) -> None:
    """`$B doctor`: all is well but for the stand-in Twilio itself (exit 1)."""
    found = s.backoffice("doctor", exit_code=1)
    assert [line for line in found.splitlines() if line.startswith("PROBLEM")] == [
        "PROBLEM sms: TWILIO_API_BASE_URL is set: SMS go to a stand-in on this host, "
        "not to Twilio; unset it."], found


def record_member(s, enroller: Browser, name: str, epic: str, mobile: str, block: int):
    """An enroller records a member and verifies the phone, through nginx."""
    created = enroller.post("/admin/members/new/", FORM | {
        "full_name": name, "mobile": mobile, "epic": epic, "block_id": block},
        token_from="/admin/members/new/", allow_redirects=False)
    assert created.status_code == 302, created.status_code
    location = urlsplit(created.headers["Location"])
    verify = f"{location.path}?{location.query}"
    assert enroller.post(verify, {"step": "send"}, token_from=verify).status_code == 200
    code = s.fake.last_code_for("+91" + mobile)
    assert enroller.post(verify, {"step": "check", "code": code},
                         token_from=verify).status_code == 200
    assert s.sql("SELECT status FROM member WHERE epic = :e", e=epic) == [("phone_verified",)]


def test_an_upgrade_with_a_migration_and_its_rollback_as_the_readme_walks_them(stack):
    """README, Deploying, Upgrade then Rollback, from the release running to a second one
    with one more migration and back, while a logged-in browser keeps loading pages
    through nginx: every page answers 200, the schema follows each step, what was entered
    on the second release is still there after the rollback, and the audit chain
    verifies."""
    s = stack
    began = time.time()

    def took(what: str) -> None:  # shown with a failure: where the time went
        print(f"{time.time() - began:6.1f} s  {what}")  # noqa: T201
    previous = s.current.resolve()  # the release running: this checkout
    # N=/srv/sadasya/releases/...-2; git clone --branch v2 ...; venv; pip install -e
    new = make_release(s.tmp / "releases" / "2")
    (head,) = ScriptDirectory(str(ROOT / "backoffice" / "migrations")).get_heads()
    (new / "backoffice" / "migrations" / "versions" / "9999_stack_rehearsal.py").write_text(
        REHEARSAL_MIGRATION.format(revision="stack_rehearsal", down_revision=head))
    block = s.sql("SELECT id FROM unit WHERE code = 'BLK-BILHA'")[0][0]
    columns = ("SELECT column_name FROM information_schema.columns "
               "WHERE table_name = 'member' AND column_name = 'rehearsal_note'")
    revision = "SELECT version_num FROM alembic_version"

    stop = threading.Event()
    polled: list[tuple[str, int]] = []
    viewer = s.browser("127.0.0.10")
    viewer.log_in(ENROLLER, PASSWORD)

    def poll() -> None:  # a member list left open, reloading, and the login page
        while not stop.is_set():
            for path in ("/admin/members/", "/login"):
                try:
                    polled.append((path, viewer.get(path).status_code))
                except requests.RequestException:
                    polled.append((path, 0))
            time.sleep(0.05)

    took(f"release 2 made in {s.tmp / 'releases'}")
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        # systemctl start sadasya-backup.service: a backup before any migration
        backups = s.tmp / "backups"
        backups.mkdir()
        command, extra = unit_command("sadasya-backup.service", "", s.current)
        command = [str(backups) if part == "/var/backups/sadasya" else part
                   for part in command]
        done = subprocess.run(command, env=s.owner_env | extra, cwd=s.current,
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        (backup,) = backups.iterdir()
        assert (backup / "database.dump").stat().st_size > 0
        assert (backup / "checkpoint.json").exists()
        took("backup")

        # $B db current: note the database's revision
        noted = re.search(r"^(\w+) \(head\)", s.backoffice("db", "current"), re.M)
        assert noted and noted.group(1) == head, "db current names the database's revision"
        # ln -sfn $N /srv/sadasya/current && B=$N/deploy/backoffice-env
        point_current_at(s, new)
        # $B db upgrade && $B doctor
        s.backoffice("db", "upgrade", release=new)
        assert s.sql(revision) == [("stack_rehearsal",)] and s.sql(columns) == [
            ("rehearsal_note",)]
        assert_doctor_names_only_the_stand_in(s)
        took("db current, db upgrade, doctor")
        # Until restarted, the old code runs on the new schema: readyz says ahead, 200.
        assert_ahead_but_ready(s)
        restart_as_the_readme_does(s, new)
        took("restarted onto release 2, nginx reloaded")
        assert s.browser("127.0.0.11").get("/admin/static/admin/css/bootstrap4/admin.css"
                                           "?v=1").status_code == 200

        # Someone enters a member on the new release.
        enroller = s.browser("127.0.0.12")
        enroller.log_in(ENROLLER, PASSWORD)
        record_member(s, enroller, "कमला नेताम", "UPG0000001", "9500000001", block)
        took("a member recorded on release 2")

        # Rollback: ln -sfn $P /srv/sadasya/current, the restarts as above (the previous
        # code on the newer schema meanwhile, as in the upgrade); then
        # $N/deploy/backoffice-env db downgrade <noted>: the new release's backoffice-env
        # (its migration is safe to undo: a column nothing wrote to).
        point_current_at(s, previous)
        restart_as_the_readme_does(s, previous)
        took("restarted onto release 1, nginx reloaded")
        assert_ahead_but_ready(s)
        s.backoffice("db", "downgrade", noted.group(1), release=new)
        assert s.sql(revision) == [(head,)] and s.sql(columns) == []
        assert_doctor_names_only_the_stand_in(s)  # $B doctor && $B audit verify (below)
        took("db downgrade, doctor")
        record_member(s, enroller, "विनोद कुर्रे", "UPG0000002", "9500000002", block)  # writes work
        time.sleep(1)  # a few more pages through both restarted servers
    finally:
        stop.set()
        poller.join(10)
    assert s.worker.alive(), s.worker.logs()
    assert polled and all(status == 200 for _path, status in polled), sorted(set(polled))
    assert {path for path, _status in polled} == {"/admin/members/", "/login"}
    lines = [json.loads(line) for line in s.access_log.read_text().splitlines()]
    failed = [line for line in lines if line["status"] >= 500
              and datetime.fromisoformat(line["time"]).timestamp() >= began - 1]
    assert not failed, failed
    # What was entered on the second release is there, once; the chain verifies.
    assert s.sql("SELECT epic, status FROM member WHERE epic LIKE 'UPG%' ORDER BY epic") == [
        ("UPG0000001", "phone_verified"), ("UPG0000002", "phone_verified")]
    assert "OK:" in s.backoffice("audit", "verify")
    for port in s.ports:
        assert ready(port).json() == {"database": "ok", "migrations": "ok", "redis": "ok"}
