"""A fake twilio.http.HttpClient: the seam Twilio's own tests use. No network."""

from __future__ import annotations

import json

import requests
from twilio.http import HttpClient
from twilio.http.response import Response

VERIFY_SID = "VA" + "1" * 32
ACCOUNT_SID = "AC" + "2" * 32
AUTH_TOKEN = "secret-auth-token-never-logged"


class FakeTwilioHttp(HttpClient):
    """Records every request the twilio library makes; answers from a queue."""

    def __init__(self):
        super().__init__(logger=None, is_async=False)
        self.requests: list[dict] = []
        self.answers: list = []

    def answer(self, status: int, body, *, raw: bool = False) -> FakeTwilioHttp:
        self.answers.append((status, body if raw else json.dumps(body)))
        return self

    def fail_with(self, error: Exception) -> FakeTwilioHttp:
        self.answers.append(error)
        return self

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.requests.append({"method": method, "uri": uri, "data": dict(data or {}),
                              "auth": auth})
        answer = self.answers.pop(0) if self.answers else (500, "")
        if isinstance(answer, Exception):
            raise answer
        return Response(*answer)


def verification(status="pending", sid="VE" + "3" * 32):
    return {"sid": sid, "status": status, "to": "+919876543210", "channel": "sms",
            "valid": status == "approved"}


def message(sid="SM" + "4" * 32):
    return {"sid": sid, "status": "queued"}


def error_body(code: int, status: int, message="error"):
    return {"code": code, "message": message, "more_info": "", "status": status}


def rfc9457_body(code: int, status: int):
    return {"type": "https://www.twilio.com/docs/errors/" + str(code), "title": "Problem",
            "status": status, "code": code, "detail": "detail"}


TIMEOUT = requests.exceptions.ReadTimeout("read timed out")
