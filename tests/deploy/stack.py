"""The deployment of docs/deploying.md on one machine, for the stack test: the files in
deploy/ used as they are (the env template filled in, the systemd units' commands, the
nginx site rendered by deploy/render-nginx-site), with loopback ports, a temporary folder,
a database and an app role of the test's own, its own Redis, and a stand-in Twilio.
Every process here is started by the test and stopped by it, by its own process id."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from tests.conftest import CSRF_RE

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
GUNICORN = VENV_BIN / "gunicorn"
REDIS_SERVER = shutil.which("redis-server")
OPENSSL = shutil.which("openssl")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, timeout: float, what: str, logs=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen in {timeout} s\n{logs()}")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd and sh read them (values here need no unquoting)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def write_env_file(path: Path, values: dict[str, str]) -> None:
    path.write_text("".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items()))
    path.chmod(0o600)


def unit_command(unit: str, instance: str,
                 current: Path = ROOT) -> tuple[list[str], dict[str, str]]:
    """A systemd unit's ExecStart and Environment= lines, for this instance, with
    /srv/sadasya/current replaced by `current` (this checkout, or the stack test's symlink
    to the release running)."""
    text = (DEPLOY / unit).read_text().replace("%i", instance).replace(
        "/srv/sadasya/current", str(current))
    start = re.search(r"^ExecStart=(.+)$", text, re.M).group(1)
    extra = dict(line.split("=", 1) for line in re.findall(r"^Environment=(.+)$", text, re.M))
    return shlex.split(start), extra


# What a release folder does not need: the checkout's history, environment, local
# instance and caches; the tests and benchmarks.
NOT_RELEASED = shutil.ignore_patterns(".git", ".venv", "instance", "__pycache__", "*.egg-info",
                                      "build", ".*_cache", "tests", "benchmarks")


def make_release(folder: Path) -> Path:
    """Another release of this code, as the README's Upgrade makes one (a folder of the
    code with a virtualenv of its own), without the network or the git history a CI clone
    may lack: this checkout's files copied; a virtualenv whose site-packages links to each
    package this checkout's has (the versions `pip install '.[serve]'` gave it) but the app
    itself, which it imports from the new folder, as this checkout's editable install does
    from here; its `backoffice` and `gunicorn` scripts run its own Python."""
    shutil.copytree(ROOT, folder, ignore=NOT_RELEASED, symlinks=True)
    venv = folder / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   capture_output=True, timeout=120)
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = venv / ours.relative_to(sys.prefix)
    for entry in ours.iterdir():
        if not entry.name.startswith(("__editable__", "sadasya_backoffice", "__pycache__")):
            (theirs / entry.name).symlink_to(entry)
    (theirs / "sadasya-release.pth").write_text(f"{folder}\n")
    for name in ("backoffice", "gunicorn"):
        _shebang, body = (VENV_BIN / name).read_text().split("\n", 1)
        (venv / "bin" / name).write_text(f"#!{venv / 'bin' / 'python'}\n{body}")
        (venv / "bin" / name).chmod(0o755)
    return folder


class Process:
    """One server process in a session of its own (so a kill reaches it and its workers
    only), its output in a log file. Its working directory is the unit's
    (WorkingDirectory=): a symlink is followed at each start, as systemd does."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path,
                 cwd: Path = ROOT) -> None:
        self.name, self.command, self.env, self.log, self.cwd = name, command, env, log, cwd
        self.start()

    def start(self) -> None:
        with self.log.open("ab") as out:  # the child keeps its own descriptor
            self.process = subprocess.Popen(self.command, env=self.env, cwd=self.cwd, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.process.poll() is None

    def logs(self) -> str:
        return f"--- {self.name}:\n" + self.log.read_text(errors="replace")[-3000:]

    def signal(self, number: int) -> None:
        if self.alive():
            os.kill(self.process.pid, number)

    def kill_all(self) -> None:
        """SIGKILL to this process and the workers it forked (its own session)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


class Redis(Process):
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        folder.mkdir(exist_ok=True)
        super().__init__("redis", [REDIS_SERVER, "--port", str(self.port), "--bind",
                                   "127.0.0.1", "--save", "", "--appendonly", "no",
                                   "--dir", str(folder)], dict(os.environ),
                         folder / "redis.log")

    def start(self) -> None:
        super().start()
        wait_for(self.answers, 15, "Redis answering", self.logs)

    def answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")


class SourceAddress(HTTPAdapter):
    """Connections from one loopback address (127.0.0.2, 127.0.0.3, ...): to nginx, each
    browser is a different client, as people in different offices are."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


class Browser:
    """One person's browser over https through nginx: cookies, the Referer a browser sends
    with a form, the form's CSRF token."""

    def __init__(self, base: str, source: str, cert: Path, lang: str = "en") -> None:
        self.base, self.cert = base, str(cert)
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would replace our certificate
        self.session.verify = self.cert
        self.session.mount("https://", SourceAddress(source))
        self.session.headers["Accept-Language"] = lang

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.base + path, timeout=60, **kwargs)

    def token(self, path: str) -> str:
        page = self.get(path)
        found = CSRF_RE.search(page.text)
        assert found, f"no CSRF token on {path} ({page.status_code}): {page.text[:1500]}"
        return found.group(1) or found.group(2)

    def post(self, path: str, fields: dict, *, token_from: str, files=None,
             **kwargs) -> requests.Response:
        data = {"csrf_token": self.token(token_from)} | fields
        return self.session.post(self.base + path, data=data, files=files, timeout=60,
                                 headers={"Referer": self.base + token_from}, **kwargs)

    def log_in(self, login: str, password: str, code=None) -> None:
        answer = self.post("/login", {"login": login, "password": password, "next": ""},
                           token_from="/login")
        if "/login/code" in answer.url:
            answer = self.post("/login/code", {"code": code()}, token_from="/login/code")
        assert answer.status_code == 200 and "/login" not in answer.url, (
            answer.status_code, answer.url)
