"""Fault tests: the suite's app fixture, with settings each test module chooses
(``app_config``), e.g. a Redis of the test's own that it stops and starts again."""

from __future__ import annotations

import pytest

from backoffice import create_app
from backoffice.extensions import db
from tests.conftest import base_config


@pytest.fixture
def app_config() -> dict:
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_config):
    """tests/conftest.py's app (one transaction, rolled back after), with app_config."""
    app = create_app(base_config(database_url, tmp_path) | app_config)
    with app.app_context():
        engine = db.engine
        connection = engine.connect()
        outer = connection.begin()
        db._app_engines[app][None] = connection
        try:
            yield app
        finally:
            db.session.remove()
            outer.rollback()
            connection.close()
            db._app_engines[app][None] = engine
            engine.dispose()
