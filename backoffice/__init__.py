"""Sadasya: the membership drive's backoffice.

create_app() only wires things together: configuration, extensions, auth,
views, commands. It opens no database connection and writes no file.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from backoffice import auth, cli, database, errors, i18n
from backoffice.extensions import csrf, db, limiter, migrate
from backoffice.settings import load_config
from backoffice.views import init_admin

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, test_config)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    init_admin(app)
    cli.init_app(app)
    return app
