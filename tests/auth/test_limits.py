"""Login throttling per client address, in memory and shared through Redis."""

import os
import uuid

import pytest

from tests.conftest import Browser

REDIS_URL = os.environ.get("BACKOFFICE_TEST_REDIS_URL")


def test_login_posts_are_throttled_per_address(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3/minute")
    b = Browser(app)
    b.client.set_cookie("lang", "en")
    codes = [b.post("/login", {"login": "x@example.test", "password": "nope"}).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    page = b.post("/login", {"login": "x@example.test", "password": "nope"})
    assert "Too many attempts" in page.get_data(as_text=True)


@pytest.mark.skipif(not REDIS_URL, reason="set BACKOFFICE_TEST_REDIS_URL to test Redis")
def test_limits_hold_across_two_app_processes_through_redis(make_app):
    """Two app instances (as two gunicorn workers) share one budget."""
    prefix = f"test-{uuid.uuid4().hex}"
    apps = [make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URL,
                     RATELIMIT_KEY_PREFIX=prefix, LOGIN_RATE_LIMIT="4/minute")
            for _ in range(2)]
    codes = []
    for attempt in range(6):
        b = Browser(apps[attempt % 2])
        codes.append(b.post("/login", {"login": "x@example.test",
                                           "password": "nope"}).status_code)
    assert codes == [200, 200, 200, 200, 429, 429]
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = client.keys(f"*{prefix}*")
    assert keys, "the counts live in Redis, where every worker sees them"
    client.delete(*keys)
