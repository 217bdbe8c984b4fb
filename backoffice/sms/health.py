"""Whether the SMS gateway as a whole is failing right now, as this process last saw it.

A /join signup that is refused (its voter ID or phone already registered) gets a
stand-in code step that sends nothing (docs/sms-otp.md). During an outage a real
send answers "the SMS service is not answering"; the stand-in must answer the
same, or the outage would tell the two apart. So every real send records whether
the gateway took it, and a stand-in reads that here.
"""

from __future__ import annotations

import threading
import time

from flask import current_app

#: failures of the gateway itself, not of one number (those stay with the number)
WHOLE_GATEWAY = frozenset({"unavailable", "misconfigured"})


class GatewayHealth:
    """The last whole-gateway failure and when it happened, cleared by a success."""

    def __init__(self, clock=time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._failing: tuple[str, float] | None = None

    def record(self, reason: str | None) -> None:
        """A send's outcome: None when the gateway took it, else its REASONS key."""
        with self._lock:
            if reason is None:
                self._failing = None
            elif reason in WHOLE_GATEWAY:
                self._failing = (reason, self._clock())

    def outage(self, window: float) -> str | None:
        """The reason of a whole-gateway failure seen within ``window`` seconds and
        not followed by a success, else None."""
        with self._lock:
            if self._failing and self._clock() - self._failing[1] <= window:
                return self._failing[0]
            return None


def health() -> GatewayHealth:
    return current_app.extensions.setdefault("sms_health", GatewayHealth())


def record(reason: str | None) -> None:
    health().record(reason)


def outage() -> str | None:
    return health().outage(current_app.config["SMS_OUTAGE_WINDOW_SECONDS"])
