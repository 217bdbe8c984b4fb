"""Domain rate limits (codes per phone, per address, per enroller) on the same storage
as Flask-Limiter: in memory, or Redis when BACKOFFICE_RATELIMIT_STORAGE_URL names one,
so every worker process counts against one budget."""

from __future__ import annotations

from flask import Flask, current_app
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from backoffice import keys


def init_app(app: Flask) -> None:
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["domain_limits"] = MovingWindowRateLimiter(storage)


def _key(value: str) -> str:
    """A keyed hash: phone numbers never sit in Redis in the clear."""
    return keys.keyed_hash("rate-limit-keys", value)[:32]


def hit(name: str, value: str, limits: str) -> bool:
    """Count one use of ``name`` for ``value``; False once any of ``limits`` is spent.

    Each hit is atomic in the storage (a Lua script on Redis), so parallel
    requests cannot slip past a limit together.
    """
    limiter = current_app.extensions["domain_limits"]
    allowed = True
    for item in parse_many(limits):
        allowed = limiter.hit(item, "sadasya", name, _key(value)) and allowed
    return allowed
