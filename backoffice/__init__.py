"""Sadasya: the membership drive's backoffice.

create_app() only wires things together: configuration, extensions, auth,
views, commands. It opens no database connection and writes no file.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from backoffice import (
    audit,
    auth,
    cli,
    database,
    errors,
    flashes,
    health,
    i18n,
    inputs,
    join,
    logs,
    ratelimits,
    security,
    sms,
    static_files,
    status,
    uploads,
)
from backoffice.extensions import csrf, db, limiter, migrate
from backoffice.settings import load_config
from backoffice.views import cards as card_views
from backoffice.views import init_admin

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(test_config: dict | None = None) -> Flask:
    # Tests, benchmarks and a second app process on one machine may point the instance
    # folder elsewhere (BACKOFFICE_INSTANCE_PATH): keys, checkpoints and manifests are
    # written there, and instance/config.py is read from there.
    instance_path = (test_config or {}).get("INSTANCE_PATH") or \
        os.environ.get("BACKOFFICE_INSTANCE_PATH") or None
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    load_config(app, test_config)
    logs.init_app(app)
    security.init_app(app)  # headers on every response, error pages included
    if app.config["PROXY_COUNT"]:  # behind N reverse proxies: trust their X-Forwarded-*
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count,
                                x_port=count)
    uploads.init_app(app)
    inputs.init_app(app)  # before anything reads the request, the CSRF check included
    database.init_app(app)
    audit.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    ratelimits.init_app(app)  # first: sets the Redis time-outs Flask-Limiter uses too
    limiter.init_app(app)
    i18n.init_app(app)
    flashes.init_app(app)
    static_files.init_app(app)
    sms.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(join.bp)
    app.register_blueprint(status.bp)  # a member's own status
    app.register_blueprint(card_views.bp)  # /check and the card links
    health.init_app(app)
    init_admin(app)
    cli.init_app(app)
    return app
