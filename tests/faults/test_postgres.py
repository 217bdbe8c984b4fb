"""PostgreSQL restarting: while it is down, requests answer at once with a 503 page in
the user's language (not a hang, not a 500); when it is back, the same app process
serves again, with no pool pre-ping and no restart."""

from __future__ import annotations

import pytest

from tests import live
from tests.faults.servers import PostgresCluster, can_run_postgres

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(can_run_postgres() is not None,
                                 reason=str(can_run_postgres()))]
DOWN = {"en": "The database is not answering right now. Nothing was saved",
        "hi": "डेटाबेस इस समय जवाब नहीं दे रहा है। कुछ भी सहेजा नहीं गया"}


@pytest.fixture
def cluster():
    made = PostgresCluster()
    try:
        yield made.init().start()
    finally:
        made.remove()


@pytest.fixture
def app_process(tmp_path, cluster):
    env = live.environment(tmp_path, "app", DATABASE_URL=cluster.url,
                           DATABASE_CONNECT_TIMEOUT=2, DATABASE_POOL_TIMEOUT=2)
    live.command(env, "db", "upgrade")
    process = live.AppProcess(env, tmp_path / "app.log")
    yield process
    process.stop()


def assert_down_page(answer, lang: str) -> None:
    assert answer.status == 503, (answer.status, answer.text[:500])
    assert DOWN[lang] in answer.text and answer.headers.get("Retry-After") == "30"
    assert "Traceback" not in answer.text and "psycopg" not in answer.text


def served_again(client, tries: int = 3) -> list[int]:
    """The statuses of up to ``tries`` requests, stopping at the first that is served."""
    statuses = []
    for _ in range(tries):
        answer = client.get("/join")
        statuses.append(answer.status)
        if answer.status == 200:
            break
        assert_down_page(answer, "en")
    return statuses


def test_a_postgresql_restart_gets_a_clear_503_page_and_the_app_recovers_by_itself(
        cluster, app_process):
    # A client time-out far above the app's own (2 s to connect): a hang fails the test.
    english = live.Client(app_process.url, "en", timeout=30)
    hindi = live.Client(app_process.url, "hi", timeout=30)
    assert english.get("/join").status == 200  # /join reads the blocks from the database

    cluster.stop()
    for client, lang in ((english, "en"), (hindi, "hi"), (english, "en")):
        assert_down_page(client.get("/join"), lang)
    assert english.get("/healthz").status == 200  # the process itself still serves
    assert english.get("/readyz").json()["database"] == "down"

    cluster.start()
    assert served_again(english)[-1] == 200
    assert english.get("/readyz").json()["database"] == "ok"

    # Stopped and started between two requests: every pooled connection is dead now.
    # At most the first request finds out (and gets the page); then the pool is new.
    cluster.stop()
    cluster.start()
    statuses = served_again(english)
    assert statuses[-1] == 200 and len(statuses) <= 2, statuses
    assert hindi.get("/join").status == 200
    assert app_process.process.poll() is None  # the same process throughout
    log = app_process.logs()
    assert "database unavailable" in log and "Traceback" not in log
