"""Redis down or restarting: no 5xx; login, /join and code sends keep their limits, per
process, and say so once in the log; shared counts resume when Redis is back; a job asked
for meanwhile waits in its row and is handed to the queue when Redis answers again."""

from __future__ import annotations

import logging
import re
import time

import pytest
import redis
from rq import Queue
from sqlalchemy import select

from backoffice import jobs, ratelimits, sms
from backoffice.extensions import db, limiter
from backoffice.models import Job, Member
from tests import factories
from tests.faults.servers import REDIS_SERVER, RedisServer

pytestmark = pytest.mark.skipif(not REDIS_SERVER, reason="redis-server is not installed")
PHONE = "+919812300001"
DETAILS = {"full_name": "कविता यादव", "relation": "husband", "relative_name": "राजेश यादव",
           "gender": "female", "date_of_birth": "1991-02-03", "mobile": "98123 00002",
           "epic": "", "address": "ग्राम कोटा", "booth_no": "8", "consent": "y", "website": ""}


@pytest.fixture
def server(tmp_path):
    started = RedisServer(tmp_path).start()
    yield started
    started.stop()
    # Flask-Limiter's Limiter is one object for every app this test process makes: the
    # next test's app must not start out believing its storage is down.
    limiter._storage_dead = False


@pytest.fixture
def app_config(server):
    return {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": server.url,
            "RATELIMIT_STORAGE_RETRY_SECONDS": 0, "LOGIN_RATE_LIMIT": "3/hour",
            "JOIN_RATE_LIMIT": "3/hour", "JOIN_MIN_SECONDS": 0,
            "OTP_PHONE_LIMIT": "2/hour", "OTP_RESEND_COOLDOWN_SECONDS": 0,
            "JOBS_QUEUE": "rq", "JOBS_REDIS_URL": server.url,
            "JOBS_QUEUE_NAME": "fault-test", "JOB_REDELIVER_SECONDS": 0}


def keys(server, pattern: str) -> list[bytes]:
    client = redis.Redis.from_url(server.url)
    try:
        return client.keys(pattern)
    finally:
        client.close()


def login(b) -> int:
    return b.post("/login", {"login": "nobody@example.test", "password": "wrong"}).status_code


def until_shared_again(server, attempt, pattern: str, seconds: float = 60) -> list[int]:
    """Repeat ``attempt`` until its count is in Redis again (Flask-Limiter asks a storage
    it lost at growing intervals, 1 s, 2 s, 4 s ...); the statuses seen meanwhile."""
    seen = []
    deadline = time.monotonic() + seconds
    while not keys(server, pattern):
        assert time.monotonic() < deadline, "the limits never went back to Redis"
        seen.append(attempt())
        time.sleep(0.2)
    return seen


def test_login_limits_hold_per_process_while_redis_is_down_then_are_shared_again(
        app, browser, server):
    b = browser()
    assert [login(b), login(b)] == [200, 200]
    assert keys(server, "*login*"), "while Redis runs, the counts live there"

    server.stop()
    during = [login(b) for _ in range(4)]
    assert during == [200, 200, 200, 429]  # no 500: this process's own count, same limit

    server.start()  # empty, as a restarted Redis without persistence
    seen = until_shared_again(server, lambda: login(browser()), "*login*")
    assert all(status in (200, 429) for status in seen)
    client = redis.Redis.from_url(server.url)
    counts = [int(client.get(key) or 0) for key in client.keys("*login*")]
    client.close()
    assert sum(counts) >= 1  # counted in Redis again, where every process sees it


def test_code_sends_keep_their_limits_per_process_and_log_the_outage_once(
        app, browser, staff, units, server, caplog):
    caplog.set_level(logging.INFO, logger="backoffice.ratelimits")
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], mobile=PHONE)
    db.session.commit()
    b = browser(staff["enroller"])
    page = f"/admin/members/verify/?id={member.id}"

    def send() -> str:
        answer = b.post(page, {"step": "send"}, token_from=page, follow_redirects=True)
        assert answer.status_code == 200
        return answer.get_data(as_text=True)

    server.stop()
    assert "A code was sent by SMS" in send()
    assert "A code was sent by SMS" in send()
    assert "Too many codes were sent to this number" in send()  # 2/hour, in this process
    warnings = [r for r in caplog.records if r.getMessage() == ratelimits.UNAVAILABLE]
    assert [r.levelname for r in warnings] == ["WARNING"]  # once for the outage

    server.start()
    with app.app_context():
        assert sms.gateway().last_code_for(PHONE)
    assert "Too many codes were sent to this number" not in send()  # Redis counts afresh
    assert keys(server, "*otp-phone*"), "the count is shared through Redis again"
    resumed = [r for r in caplog.records if r.getMessage() == ratelimits.RESUMED]
    assert [r.levelname for r in resumed] == ["INFO"]
    assert "9812300001" not in caplog.text


def test_join_works_while_redis_is_down(app, browser, units, server):
    b = browser()
    server.stop()
    page = b.get("/join").get_data(as_text=True)
    started = re.search(r'name="started" type="hidden" value="([^"]*)"', page).group(1)
    answer = b.post("/join", DETAILS | {"block_id": units["BLK-KOTA"].id, "started": started},
                    token_from="/join")
    assert answer.status_code == 302 and answer.headers["Location"] == "/join/verify"
    assert "We have sent a code" in b.get("/join/verify").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(Member).where(Member.mobile == "+919812300002"))


def test_a_job_asked_for_while_redis_is_down_waits_and_is_queued_when_it_is_back(
        app, browser, staff, units, server):
    app.config["EXPORT_JOB_ROWS"] = 3  # these few rows are a large export, made by a job
    with app.test_request_context():
        for n in range(4):
            factories.member(units["BLK-BILHA"], full_name=f"Bilha {n}")
    db.session.commit()
    district = browser(staff["district"])
    server.stop()
    answer = district.get("/admin/members/export/csv/")
    assert answer.status_code == 302
    assert "Being prepared" in district.get("/admin/members/exports/").get_data(as_text=True)
    job = db.session.scalar(select(Job).where(Job.kind == "list.export"))
    assert job.state == "queued"  # its row is kept; nothing is lost with the queue
    db.session.commit()  # (the test's session began before the request's: keep its row)

    server.start()
    with app.test_request_context():
        assert jobs.maintain()["redelivered"] >= 1
    connection = redis.Redis.from_url(server.url)
    assert Queue("fault-test", connection=connection).job_ids == [
        f"fault-test-job-{job.id}"]
    connection.close()
