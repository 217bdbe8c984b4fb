"""Domain rate limits (codes per phone, per address, per enroller) on the same storage
as Flask-Limiter: in memory, or Redis when BACKOFFICE_RATELIMIT_STORAGE_URL names one,
so every worker process counts against one budget.

A use is charged when it is attempted and given back if it did not happen (the SMS
gateway refused or failed), so only sends the gateway accepted stay counted while
parallel requests still cannot slip past a limit together. Giving back needs a
counter that can go down, so the limits are counted with the library's sliding-window
counter (a weighted pair of fixed windows) rather than a log of time stamps.

When Redis is down or restarting, each process counts in its own memory instead (the
same limits, per process: docs/faults.md), says so once in the log, and goes back to
the shared counts when Redis answers again. Flask-Limiter does the same for the
login and /join limits (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from backoffice import keys

PREFIX = "sadasya"
log = logging.getLogger(__name__)
UNAVAILABLE = "rate-limit storage unavailable, per-process limits in force"
RESUMED = "rate-limit storage available again, shared limits in force"


def storage_options(config) -> dict:
    """Redis client options: a stopped or unreachable Redis must fail a request's limit
    check within a second or so, not hang it (RATELIMIT_STORAGE_TIMEOUT_SECONDS)."""
    if str(config.get("RATELIMIT_STORAGE_URI") or "memory://").startswith("memory"):
        return {}
    seconds = float(config["RATELIMIT_STORAGE_TIMEOUT_SECONDS"])
    return {"socket_connect_timeout": seconds, "socket_timeout": seconds}


def init_app(app: Flask) -> None:
    """Before Flask-Limiter's init_app: its storage takes the same time-outs."""
    options = storage_options(app.config)
    app.config["RATELIMIT_STORAGE_OPTIONS"] = options | app.config.get(
        "RATELIMIT_STORAGE_OPTIONS", {})
    app.extensions["domain_limits"] = DomainLimiter(
        app.config["RATELIMIT_STORAGE_URI"], app.config["RATELIMIT_STORAGE_OPTIONS"],
        retry_seconds=app.config["RATELIMIT_STORAGE_RETRY_SECONDS"])


class DomainLimiter:
    """The shared limiter, and this process's own for while the shared one is down.

    A hit that fails on the shared storage marks it down and is counted locally;
    while down, the shared storage is asked again (a ping) at most every
    ``retry_seconds``, and used again from the first ping it answers.
    """

    def __init__(self, uri: str, options: dict, *, retry_seconds: float = 5.0,
                 clock=time.monotonic) -> None:
        self.shared_storage = storage_from_string(uri, wrap_exceptions=True, **options)
        self.shared = SlidingWindowCounterRateLimiter(self.shared_storage)
        self.local = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._down = False
        self._retry_at = 0.0

    @property
    def down(self) -> bool:
        return self._down

    def _current(self) -> SlidingWindowCounterRateLimiter:
        with self._lock:
            if not self._down:
                return self.shared
            if self._clock() < self._retry_at:
                return self.local
            self._retry_at = self._clock() + self.retry_seconds
        if not self.shared_storage.check():
            return self.local
        with self._lock:
            if self._down:
                self._down = False
                log.info(RESUMED, extra={"rate_limit_storage": "shared"})
        return self.shared

    def _failed(self, error: Exception) -> None:
        with self._lock:
            if self._down:
                return
            self._down = True
            self._retry_at = self._clock() + self.retry_seconds
        log.warning(UNAVAILABLE, extra={"rate_limit_storage": "per-process",
                                        "error": type(getattr(error, "storage_error", error))
                                        .__name__})

    def hit(self, item: RateLimitItem, *identifiers: str,
            cost: int = 1) -> tuple[bool, SlidingWindowCounterRateLimiter]:
        """One use (or ``cost``); whether the limit allowed it, and the limiter that
        counted it (a use is given back where it was taken)."""
        limiter = self._current()
        if limiter is self.shared:
            try:
                return limiter.hit(item, *identifiers, cost=cost), limiter
            except StorageError as error:
                self._failed(error)
                limiter = self.local
        return limiter.hit(item, *identifiers, cost=cost), limiter


def _key(value: str) -> str:
    """A keyed hash: phone numbers never sit in Redis in the clear."""
    return keys.keyed_hash("rate-limit-keys", value)[:32]


@dataclass
class Charge:
    """Uses taken from some limits, to be given back if the thing did not happen."""

    taken: list[tuple[SlidingWindowCounterRateLimiter, RateLimitItem, str, str]] = \
        field(default_factory=list)

    def refund(self) -> None:
        for limiter, item, name, key in self.taken:
            # A negative cost lowers the current window's counter (tests pin this).
            try:
                limiter.hit(item, PREFIX, name, key, cost=-1)
            except StorageError:
                # Redis went down since the use was taken: the use stays counted there,
                # which errs on the safe side (one fewer send in the window).
                log.info("rate-limit use not given back: storage unavailable")
        self.taken = []


def charge(checks: list[tuple[str, str, str]]) -> Charge | None:
    """Take one use of every (name, value, limits) in ``checks``: all of them, or none.

    Each hit is atomic in the storage (a Lua script on Redis), so parallel
    requests cannot slip past a limit together. None when any limit is spent;
    the uses already taken are given back then.
    """
    taken = charge_or_refusal(checks)
    return taken if isinstance(taken, Charge) else None


def hit(name: str, value: str, limits: str) -> bool:
    """Count one use of ``name`` for ``value``; False (and nothing counted) once spent."""
    return charge([(name, value, limits)]) is not None


@dataclass
class Refusal:
    """Which limit refused a charge, and when (epoch seconds) it has room again."""

    name: str
    retry_at: float


@functools.lru_cache(maxsize=64)
def _parsed(limits: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limits))


def charge_or_refusal(checks: list[tuple[str, str, str]]) -> Charge | Refusal:
    """charge(), but a refusal says which limit was spent and when it frees: a sender
    that can wait (an SMS notice, services/notifications.py) waits for that time."""
    limiter: DomainLimiter = current_app.extensions["domain_limits"]
    taken = Charge()
    for name, value, limits in checks:
        key = _key(value)
        for item in _parsed(limits):
            allowed, counted_by = limiter.hit(item, PREFIX, name, key)
            if not allowed:
                taken.refund()
                try:
                    retry_at = counted_by.get_window_stats(item, PREFIX, name, key).reset_time
                except StorageError:
                    retry_at = 0.0
                # The sliding window frees a use before the whole window has passed; at
                # the latest a window's length from now.
                now = time.time()
                retry_at = min(max(retry_at, now + 1), now + item.get_expiry())
                return Refusal(name, retry_at)
            taken.taken.append((counted_by, item, name, key))
    return taken
