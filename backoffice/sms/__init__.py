"""SMS gateways behind one interface, chosen by configuration (SMS_GATEWAY)."""

from __future__ import annotations

import logging

from flask import Flask, current_app

from backoffice.settings import ConfigError
from backoffice.sms import outbox, webhooks
from backoffice.sms.base import REASONS, Gateway, GatewayError, Sent
from backoffice.sms.breaker import CircuitBreaker
from backoffice.sms.console import ConsoleGateway, MemoryGateway
from backoffice.sms.twilio import (
    LoopbackHttpClient,
    TwilioMessagingGateway,
    TwilioVerifyGateway,
    is_loopback_url,
)

__all__ = ["REASONS", "Gateway", "GatewayError", "Sent", "gateway", "init_app"]


def build(config) -> Gateway:
    kind = config["SMS_GATEWAY"]
    http_client = config.get("SMS_TWILIO_HTTP_CLIENT")  # tests: a fake twilio HttpClient
    if kind.startswith("twilio") and http_client is None and config.get("TWILIO_API_BASE_URL"):
        # A stand-in Twilio on this host only (the stack test, rehearsals): any other host
        # is refused at start, so production cannot be pointed elsewhere quietly.
        if not is_loopback_url(config["TWILIO_API_BASE_URL"]):
            raise ConfigError("TWILIO_API_BASE_URL may only name this host (127.0.0.1, ::1 "
                              "or localhost): it is for a stand-in Twilio in tests and "
                              "rehearsals. Unset it to reach Twilio.")
        http_client = LoopbackHttpClient(config["TWILIO_API_BASE_URL"],
                                         config["SMS_TIMEOUT_SECONDS"])
    if kind == "console":
        return ConsoleGateway()
    if kind == "memory":
        return MemoryGateway()
    breaker = CircuitBreaker(config["SMS_BREAKER_FAILURES"], config["SMS_BREAKER_RESET_SECONDS"])
    if kind == "twilio_verify":
        return TwilioVerifyGateway(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
                                   config["TWILIO_VERIFY_SERVICE_SID"], http_client=http_client,
                                   timeout=config["SMS_TIMEOUT_SECONDS"], breaker=breaker)
    if kind == "twilio_messaging":
        base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
        return TwilioMessagingGateway(
            config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
            from_number=config.get("TWILIO_FROM_NUMBER"),
            messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID"),
            status_callback=f"{base}/sms/status" if base else None,
            http_client=http_client, timeout=config["SMS_TIMEOUT_SECONDS"], breaker=breaker)
    raise ValueError(f"SMS_GATEWAY must be console, memory, twilio_verify or twilio_messaging, "
                     f"not {kind!r}")


def init_app(app: Flask) -> None:
    app.register_blueprint(webhooks.bp)
    outbox.init_app(app)
    # The twilio library logs each request (numbers and message bodies) at
    # INFO: keep it to warnings, so no phone or code reaches the logs.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    try:
        app.extensions["sms_gateway"] = build(app.config)
    except GatewayError as error:
        raise ConfigError(f"SMS gateway {app.config['SMS_GATEWAY']} is missing its setting: "
                          f"{error.code} (see the README's configuration table).") from None


def gateway() -> Gateway:
    return current_app.extensions["sms_gateway"]
