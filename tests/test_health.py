"""/healthz and /readyz: public probes that name failed checks and nothing else."""

import os
import socket

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import stamp
from sqlalchemy import text

from backoffice.extensions import db

REDIS_URL = os.environ.get("BACKOFFICE_TEST_REDIS_URL")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_answers_ok_to_anyone_without_asking_the_database(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/db.sqlite3")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ok_when_the_database_is_migrated_and_redis_is_not_used(app):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "redis": "not used", "migrations": "ok"}


def test_readyz_names_redis_down_without_its_address(app):
    port = closed_port()
    app.config["JOBS_REDIS_URL"] = f"redis://:secret-pass@127.0.0.1:{port}/11"
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"database": "ok", "redis": "down", "migrations": "ok"}
    body = response.get_data(as_text=True)
    for leak in ("127.0.0.1", str(port), "secret-pass", "redis://", "JOBS_REDIS_URL"):
        assert leak not in body


@pytest.mark.skipif(not REDIS_URL, reason="needs a Redis (BACKOFFICE_TEST_REDIS_URL)")
def test_readyz_reports_a_reachable_redis_ok(app):
    app.config["JOBS_REDIS_URL"] = REDIS_URL
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["redis"] == "ok"


def test_readyz_reports_migrations_behind_and_ahead(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/stamped.sqlite3")
    with app.app_context():
        script = ScriptDirectory(app.extensions["migrate"].directory)
        stamp(revision=script.get_revision("head").down_revision)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"database": "ok", "redis": "not used",
                                   "migrations": "behind"}
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = 'from_newer_code'"))
        db.session.commit()
    ahead = app.test_client().get("/readyz")
    # a newer release migrated the database: this old server still serves until restarted
    assert ahead.status_code == 200
    assert ahead.get_json()["migrations"] == "ahead"


def test_readyz_reports_an_unreachable_database_without_its_error(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/db.sqlite3")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"database": "down", "redis": "not used",
                                   "migrations": "unknown"}


def test_probes_are_never_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="1/minute")
    client = app.test_client()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
