"""Real app processes for tests: `backoffice run` on a loopback port the system picks,
each with its own instance folder and environment, driven over HTTP with urllib.
Started and stopped by the test only, bounded in time."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import CSRF_RE
from tests.jobs.workers import BACKOFFICE

RUNNING = re.compile(r"Running on http://127\.0\.0\.1:(\d+)")
FAST_HASH = '{"time_cost": 1, "memory_cost": 8, "parallelism": 1}'


def environment(tmp: Path, name: str, **settings) -> dict:
    """A process's environment: nothing of the test's BACKOFFICE_* settings, its own
    instance folder, then the settings given (as BACKOFFICE_<name>)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    instance = tmp / name
    instance.mkdir(parents=True, exist_ok=True)
    env |= {"BACKOFFICE_ENV": "development", "BACKOFFICE_INSTANCE_PATH": str(instance),
            "BACKOFFICE_SECRET_KEY": uuid.uuid4().hex, "BACKOFFICE_SMS_GATEWAY": "memory",
            "BACKOFFICE_PASSWORD_HASH": FAST_HASH,
            "BACKOFFICE_AUDIT_SIGNING_KEY": str(tmp / "no-key.pem")}
    return env | {f"BACKOFFICE_{k}": str(v) for k, v in settings.items()}


def command(env: dict, *args: str, timeout: float = 120) -> str:
    """Run `backoffice <args>` to its end (e.g. `db upgrade`, `demo`)."""
    done = subprocess.run([str(BACKOFFICE), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=env["BACKOFFICE_INSTANCE_PATH"], check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


class AppProcess:
    """`backoffice run` in a process of its own, on 127.0.0.1 and a free port."""

    def __init__(self, env: dict, log: Path, timeout: float = 60) -> None:
        self.log = log
        with log.open("wb") as out:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [str(BACKOFFICE), "run", "--host", "127.0.0.1", "--port", "0"], env=env,
                stdout=out, stderr=subprocess.STDOUT, cwd=env["BACKOFFICE_INSTANCE_PATH"],
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while not (found := RUNNING.search(log.read_text(errors="replace"))):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("the app did not start:\n" + self.logs())
            time.sleep(0.1)
        self.url = f"http://127.0.0.1:{found.group(1)}"

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Stop this process (and only it) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@dataclass
class Reply:
    status: int
    url: str
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        import json

        return json.loads(self.body)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """One browser's cookies on one app process: GET, form POSTs with the page's CSRF
    token, file uploads. Redirects are followed unless follow=False."""

    def __init__(self, base: str, lang: str = "en", timeout: float = 60) -> None:
        assert base.startswith("http://127.0.0.1:"), base
        self.base, self.timeout = base, timeout
        self.jar = http.cookiejar.CookieJar()
        cookies = urllib.request.HTTPCookieProcessor(self.jar)
        self.opener = urllib.request.build_opener(cookies)
        self.direct = urllib.request.build_opener(cookies, NoRedirect)
        self.headers = {}
        # The language a person chose (the browser's Accept-Language is not asked).
        self.jar.set_cookie(http.cookiejar.Cookie(
            0, "lang", lang, None, False, "127.0.0.1", False, False, "/", True, False, None,
            False, None, None, {}))

    def request(self, path: str, data: bytes | None = None, content_type: str | None = None,
                follow: bool = True) -> Reply:
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(  # noqa: S310 - the loopback app's http only
            self.base + path, data=data, headers=headers)
        opener = self.opener if follow else self.direct
        try:
            with opener.open(request, timeout=self.timeout) as answer:
                return Reply(answer.status, answer.url, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, error.url, dict(error.headers), error.read())

    def get(self, path: str, **kwargs) -> Reply:
        return self.request(path, **kwargs)

    def csrf_token(self, path: str) -> str:
        page = self.get(path)
        match = CSRF_RE.search(page.text)
        assert match, f"no CSRF token on {path} ({page.status}): {page.text[:2000]}"
        return match.group(1) or match.group(2)

    def post(self, path: str, fields: dict, *, token_from: str, files: dict | None = None,
             follow: bool = True) -> Reply:
        fields = {"csrf_token": self.csrf_token(token_from)} | fields
        if not files:
            data = urllib.parse.urlencode(fields).encode()
            return self.request(path, data, "application/x-www-form-urlencoded", follow)
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                         f"\r\n\r\n{value}\r\n".encode())
        for name, (filename, content) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                         f'filename="{filename}"\r\nContent-Type: application/octet-stream'
                         "\r\n\r\n".encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(path, b"".join(parts), f"multipart/form-data; boundary={boundary}",
                            follow)

    def log_in(self, login: str, password: str, code=None) -> None:
        """The login form; then the six digits from code() if the app asks for them."""
        answer = self.post("/login", {"login": login, "password": password, "next": ""},
                           token_from="/login")
        if "/login/code" in answer.url:
            answer = self.post("/login/code", {"code": code()}, token_from="/login/code")
        assert "/login" not in answer.url and answer.status == 200, (answer.url, answer.status)
