"""Fault tests: the suite's app fixture, with settings each test module chooses
(``app_config``), e.g. a Redis of the test's own that it stops and starts again; and a
scratch database of a module's own, for requests that must commit for real."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backoffice import create_app
from backoffice.extensions import db
from backoffice.services.units import load_units, read_units_csv
from tests import factories
from tests.conftest import POSTGRES_URL, base_config


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


@dataclass
class Scratch:
    """A migrated database of a test module's own, where requests commit for real."""

    url: str
    tmp: Path
    people: dict = field(default_factory=dict)

    def app(self, **config):
        return create_app(base_config(self.url, self.tmp) | config)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A fresh database beside the suite's (PostgreSQL: on the same server, dropped after;
    SQLite: a file), migrated, with the units and an enroller and a district head."""
    tmp = tmp_path_factory.mktemp("scratch")
    admin = None
    if POSTGRES_URL:
        base = make_url(POSTGRES_URL)
        name = f"{base.database}_fault_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
    else:
        url = "sqlite:///" + str(tmp / "scratch.sqlite3")
    made = Scratch(url, tmp)
    app = made.app()
    with app.app_context():
        upgrade()
        with app.test_request_context():
            units = load_units(read_units_csv())
            made.people = {
                "enroller": factories.staff_with_role("enroller", units["BLK-BILHA"]).id,
                "district": factories.staff_with_role("district_president",
                                                      units["DIST-BILASPUR"]).id,
                "bilha": units["BLK-BILHA"].id, "kota": units["BLK-KOTA"].id}
            db.session.commit()
        db.engine.dispose()
    yield made
    if admin is not None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
