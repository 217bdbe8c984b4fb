"""A circuit breaker in front of the SMS provider (docs/faults.md).

After ``failures`` calls in a row that found the provider not answering (time-outs,
refused connections, 5xx: the "unavailable" reason), it opens: for ``reset_seconds``
every call fails at once with that same reason, so an enroller hears "the member is
saved, try again in a few minutes" straight away instead of after a time-out each.
Then one trial call goes through (the others still fail at once); its success closes
the breaker, its failure opens it again. Answers about one number (invalid, blocked,
too many) are the provider answering: they count as successes here.

Per process, in memory. Not pybreaker: it holds its lock for the whole guarded call
(its issues #3 and #55), so every send of a threaded worker would wait behind one slow
provider call, the very thing a breaker is there to stop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from backoffice.sms.base import GatewayError

log = logging.getLogger(__name__)
T = TypeVar("T")
OUTAGE = "unavailable"


class CircuitBreaker:
    def __init__(self, failures: int = 5, reset_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = max(1, int(failures))
        self.reset_seconds = float(reset_seconds)
        self.clock = clock
        self._lock = threading.Lock()
        self._failed = 0  # calls in a row that found the provider not answering
        self._opened_at: float | None = None
        self._trial = False  # a trial call of a half-open breaker is under way

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._trial or self.clock() - self._opened_at >= self.reset_seconds:
                return "half-open"
            return "open"

    def call(self, make: Callable[[], T]) -> T:
        """``make()`` if the breaker lets it through; GatewayError("unavailable") at once
        if not. ``make`` raises GatewayError for the provider's answers."""
        trial = self._admit()
        reason: str | None = OUTAGE  # anything else raised (a bug) counts as a failure
        try:
            result = make()
            reason = None
            return result
        except GatewayError as error:
            reason = OUTAGE if error.reason == OUTAGE else None
            raise
        finally:
            self._record(reason, trial)

    def _admit(self) -> bool:
        """Whether this call is the trial of a half-open breaker; raises when refused."""
        with self._lock:
            if self._opened_at is None:
                return False
            if self._trial or self.clock() - self._opened_at < self.reset_seconds:
                raise GatewayError(OUTAGE, "circuit_open")
            self._trial = True
            return True

    def _record(self, reason: str | None, trial: bool) -> None:
        with self._lock:
            if trial:
                self._trial = False
            if reason is None:
                reopened = self._opened_at is not None
                self._failed, self._opened_at = 0, None
                if reopened:
                    log.info("SMS gateway answering again: circuit closed",
                             extra={"sms_circuit": "closed"})
                return
            self._failed += 1
            if not trial and (self._opened_at is not None or self._failed < self.failures):
                return
            self._opened_at = self.clock()
        log.warning("SMS gateway not answering (%s calls in a row): sends fail at once "
                    "for %s s (circuit open)", self._failed, int(self.reset_seconds),
                    extra={"sms_circuit": "open"})
