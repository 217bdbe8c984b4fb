"""Twilio backends: Verify (Twilio makes and checks the code) and Messaging (we do).

Every failure becomes a GatewayError with a reason the user can act on;
nothing here logs a phone number, a code or a credential.
"""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from backoffice.sms.base import Gateway, GatewayError, Sent
from backoffice.sms.breaker import CircuitBreaker

# Twilio error codes (docs/sms-otp.md) -> our reasons.
_CODES = {
    21211: "invalid_number", 60200: "invalid_number", 21614: "not_mobile",
    21408: "blocked", 60605: "blocked", 60410: "blocked",
    60203: "too_many", 60202: "wrong_code_limit", 20404: "expired",
    20003: "misconfigured", 20008: "misconfigured",
}


def translate(error: Exception) -> GatewayError:
    """One GatewayError for whatever the twilio library or the network raised."""
    if isinstance(error, (TwilioRestException, TwilioServiceException)):
        code = getattr(error, "code", None)
        status = getattr(error, "status", None)
        if code in _CODES:
            return GatewayError(_CODES[code], code)
        if status == 429:
            return GatewayError("too_many", code)
        if status in (401, 403):
            return GatewayError("misconfigured", code)
        return GatewayError("unavailable", code or status)
    if isinstance(error, (requests.RequestException, TwilioException, ValueError, KeyError)):
        # timeouts, refused connections, 5xx without a body, bodies that are not JSON
        return GatewayError("unavailable", type(error).__name__)
    raise error


def is_loopback_url(url: str) -> bool:
    """http(s) on 127.0.0.0/8, ::1 or localhost: a stand-in on this very host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class LoopbackHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, every request sent to a stand-in Twilio on this host
    (TWILIO_API_BASE_URL; docs/deploying.md): the same paths, bodies and answers, so
    a rehearsal or the stack test runs the real gateway code without texting anyone."""

    def __init__(self, base_url: str, timeout: float) -> None:
        if not is_loopback_url(base_url):
            raise GatewayError("misconfigured", "TWILIO_API_BASE_URL")
        super().__init__(timeout=timeout)
        self.base = urlsplit(base_url)

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        url = urlunsplit((self.base.scheme, self.base.netloc,
                          self.base.path.rstrip("/") + parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


class _TwilioGateway(Gateway):
    def __init__(self, account_sid: str, auth_token: str, http_client=None,
                 timeout: float = 5.0, breaker: CircuitBreaker | None = None) -> None:
        if not account_sid or not auth_token:
            raise GatewayError("misconfigured", "credentials")
        self.client = Client(account_sid, auth_token, http_client=http_client)
        if http_client is None:
            # requests applies it to the connection and to each wait for the answer
            self.client.http_client.timeout = timeout
        self.breaker = breaker or CircuitBreaker()

    def _call(self, make):
        return self.breaker.call(lambda: self._translated(make))

    @staticmethod
    def _translated(make):
        try:
            return make()
        except Exception as error:  # noqa: BLE001 - translate() re-raises what it does not know
            raise translate(error) from error


class TwilioVerifyGateway(_TwilioGateway):
    """Twilio Verify: it makes the code, texts it, and checks it."""

    name = "twilio_verify"
    manages_codes = True

    def __init__(self, account_sid, auth_token, service_sid, http_client=None, timeout=5.0,
                 breaker=None):
        super().__init__(account_sid, auth_token, http_client, timeout, breaker)
        if not service_sid:
            raise GatewayError("misconfigured", "service")
        self.service = self.client.verify.v2.services(service_sid)

    def dry_call(self) -> bool:
        self._call(self.service.fetch)  # the Verify service, read with our credentials
        return True

    def send_code(self, phone, code, text, locale) -> Sent:
        try:
            result = self._call(lambda: self.service.verifications.create(
                to=phone, channel="sms", locale=locale))
        except GatewayError as error:
            if error.code != 20404 or not locale:
                raise
            # An unsupported locale answers 404: send again in Verify's default.
            result = self._call(lambda: self.service.verifications.create(to=phone,
                                                                           channel="sms"))
        return Sent(provider_sid=result.sid)

    def check_code(self, phone, code) -> bool:
        result = self._call(lambda: self.service.verification_checks.create(to=phone, code=code))
        return result.status == "approved"


class TwilioMessagingGateway(_TwilioGateway):
    """Programmable Messaging: we make the code and send our (DLT-registered) text."""

    name = "twilio_messaging"

    def __init__(self, account_sid, auth_token, *, from_number=None, messaging_service_sid=None,
                 status_callback=None, http_client=None, timeout=5.0, breaker=None):
        super().__init__(account_sid, auth_token, http_client, timeout, breaker)
        if not (from_number or messaging_service_sid):
            raise GatewayError("misconfigured", "sender")
        self.sender = ({"messaging_service_sid": messaging_service_sid}
                       if messaging_service_sid else {"from_": from_number})
        self.status_callback = status_callback

    def dry_call(self) -> bool:
        self._call(lambda: self.client.api.v2010.accounts(self.client.account_sid).fetch())
        service = self.sender.get("messaging_service_sid")
        if service:
            self._call(lambda: self.client.messaging.v1.services(service).fetch())
        return True

    def send_code(self, phone, code, text, locale) -> Sent:
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        message = self._call(lambda: self.client.messages.create(
            to=phone, body=text, **self.sender, **extra))
        return Sent(provider_sid=message.sid)


def describe(error: GatewayError) -> str:
    """A log line: the reason and the provider's code, never the request."""
    return json.dumps({"reason": error.reason, "code": str(error.code)})
