"""Domain rate limits (codes per phone, per address, per enroller) on the same storage
as Flask-Limiter: in memory, or Redis when BACKOFFICE_RATELIMIT_STORAGE_URL names one,
so every worker process counts against one budget.

A use is charged when it is attempted and given back if it did not happen (the SMS
gateway refused or failed), so only sends the gateway accepted stay counted while
parallel requests still cannot slip past a limit together. Giving back needs a
counter that can go down, so the limits are counted with the library's sliding-window
counter (a weighted pair of fixed windows) rather than a log of time stamps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from backoffice import keys

PREFIX = "sadasya"


def init_app(app: Flask) -> None:
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["domain_limits"] = SlidingWindowCounterRateLimiter(storage)


def _key(value: str) -> str:
    """A keyed hash: phone numbers never sit in Redis in the clear."""
    return keys.keyed_hash("rate-limit-keys", value)[:32]


@dataclass
class Charge:
    """Uses taken from some limits, to be given back if the thing did not happen."""

    taken: list[tuple[RateLimitItem, str, str]] = field(default_factory=list)

    def refund(self) -> None:
        limiter = current_app.extensions["domain_limits"]
        for item, name, key in self.taken:
            # A negative cost lowers the current window's counter (tests pin this).
            limiter.hit(item, PREFIX, name, key, cost=-1)
        self.taken = []


def charge(checks: list[tuple[str, str, str]]) -> Charge | None:
    """Take one use of every (name, value, limits) in ``checks``: all of them, or none.

    Each hit is atomic in the storage (a Lua script on Redis), so parallel
    requests cannot slip past a limit together. None when any limit is spent;
    the uses already taken are given back then.
    """
    limiter = current_app.extensions["domain_limits"]
    taken = Charge()
    for name, value, limits in checks:
        key = _key(value)
        for item in parse_many(limits):
            if not limiter.hit(item, PREFIX, name, key):
                taken.refund()
                return None
            taken.taken.append((item, name, key))
    return taken


def hit(name: str, value: str, limits: str) -> bool:
    """Count one use of ``name`` for ``value``; False (and nothing counted) once spent."""
    return charge([(name, value, limits)]) is not None
