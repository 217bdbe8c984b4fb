"""A stand-in Twilio on the loopback for tests: the Messaging API's two calls the app
makes (send a message, read the account), answering as Twilio does, and remembering each
message so a test can type the code a member would read off their phone."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

MESSAGES = re.compile(r"/2010-04-01/Accounts/(\w+)/Messages\.json")
ACCOUNT = re.compile(r"/2010-04-01/Accounts/(\w+)\.json")
SERVICE = re.compile(r"/v1/Services/(MG\w+)")
CODE = re.compile(r"\b(\d{6})\b")


class FakeTwilio:
    def __init__(self, account_sid: str) -> None:
        self.account_sid = account_sid
        self.sent: list[tuple[str, str]] = []  # (to, body)
        self.delay = 0.0  # seconds each send takes (a test catches a worker mid-batch)
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # bodies carry codes and numbers: no logging
                pass

            def answer(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802 - the http.server's name
                found = ACCOUNT.fullmatch(self.path.split("?")[0])
                if found and found.group(1) == fake.account_sid:
                    return self.answer(200, {"sid": fake.account_sid, "status": "active"})
                found = SERVICE.fullmatch(self.path.split("?")[0])
                if found:  # the Messaging Service the doctor reads
                    return self.answer(200, {"sid": found.group(1),
                                             "account_sid": fake.account_sid})
                return self.answer(404, {"code": 20404, "message": "not found", "status": 404})

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                found = MESSAGES.fullmatch(self.path.split("?")[0])
                if not found or found.group(1) != fake.account_sid:
                    return self.answer(404, {"code": 20404, "message": "not found",
                                             "status": 404})
                to, body = form["To"][0], form["Body"][0]
                time.sleep(fake.delay)
                with fake.lock:
                    fake.sent.append((to, body))
                return self.answer(201, {"sid": "SM" + uuid.uuid4().hex, "to": to,
                                         "status": "queued", "body": body})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def last_code_for(self, phone: str) -> str | None:
        """The six digits of the latest message to ``phone`` (+91XXXXXXXXXX)."""
        with self.lock:
            for to, body in reversed(self.sent):
                if to == phone:
                    return CODE.search(body).group(1)
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
