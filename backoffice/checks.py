"""What a running deployment depends on, each check answering in one word.

/readyz (backoffice/health.py) and `backoffice doctor` (backoffice/doctor.py) both
ask these. Answers name a state, never a URL, host, version or error text: a load
balancer's probe is public, and an exception's text can carry a password.
"""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from backoffice.extensions import db

OK, DOWN, NOT_USED, BEHIND, AHEAD, UNKNOWN = "ok", "down", "not used", "behind", "ahead", \
    "unknown"
REDIS_TIMEOUT_SECONDS = 2.0
REDIS_SETTINGS = (("RATELIMIT_STORAGE_URI", "RATELIMIT_STORAGE_URL"),
                  ("JOBS_REDIS_URL", "JOBS_REDIS_URL"))


def readiness() -> dict[str, str]:
    """Database, Redis and migrations, as /readyz reports them."""
    database_state = database()
    return {"database": database_state,
            "redis": _worst(redis_states().values()),
            "migrations": migrations() if database_state == OK else UNKNOWN}


def database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return DOWN
    return OK


def head_revisions() -> set[str]:
    """The newest migrations this code ships (read once per process)."""
    app = current_app._get_current_object()
    heads = app.extensions.get("migration_heads")
    if heads is None:
        script = ScriptDirectory(app.extensions["migrate"].directory)
        heads = app.extensions["migration_heads"] = frozenset(script.get_heads())
    return set(heads)


def known_revisions() -> set[str]:
    script = ScriptDirectory(current_app.extensions["migrate"].directory)
    return {revision.revision for revision in script.walk_revisions()}


def migrations() -> str:
    """ok at the head; behind when the database needs `backoffice db upgrade`; ahead when
    it was migrated by newer code than this process runs."""
    try:
        current = set(MigrationContext.configure(db.session.connection()).get_current_heads())
    except SQLAlchemyError:
        db.session.rollback()
        return UNKNOWN
    if current == head_revisions():
        return OK
    return BEHIND if current <= known_revisions() else AHEAD


def redis_urls() -> dict[str, str]:
    """The Redis servers this configuration uses, by the setting that names each."""
    config = current_app.config
    urls = {}
    for key, setting in REDIS_SETTINGS:
        url = str(config.get(key) or "")
        if url.startswith(("redis://", "rediss://", "unix://")):
            urls[setting] = url
    return urls


def redis_states() -> dict[str, str]:
    return {setting: ping_redis(url) for setting, url in redis_urls().items()}


def ping_redis(url: str) -> str:
    client = Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                            socket_timeout=REDIS_TIMEOUT_SECONDS)
    try:
        client.ping()
    except (RedisError, OSError):
        return DOWN
    finally:
        client.close()
    return OK


def _worst(states) -> str:
    states = list(states)
    if not states:
        return NOT_USED
    return OK if all(state == OK for state in states) else DOWN
