"""/healthz and /readyz for load balancers and orchestrators.

/healthz answers while the process serves requests, asking nothing else: a restart
will not fix a database outage. /readyz asks the database, Redis and the migrations
(backoffice/checks.py) and answers 503 while any is not ok, so traffic goes elsewhere.
Migrations "ahead" (a newer release migrated the database; this process runs the old
code until it is restarted) is still ready: a rolling upgrade migrates first and then
restarts the servers one at a time, and its migrations are written so the old code runs
on the new schema (docs/deploying.md). A load balancer polling /readyz would otherwise
take every old server out at once the moment `db upgrade` ran.
Both are public, so they name only which check failed, never a host or a version; no
login, no CSRF token, no rate limit (a probe every few seconds must never be refused).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from backoffice import checks
from backoffice.extensions import csrf, limiter

bp = Blueprint("health", __name__)

_READY_STATES = (checks.OK, checks.NOT_USED)
_READY = {"migrations": (checks.OK, checks.AHEAD)}


def init_app(app) -> None:
    csrf.exempt(bp)
    limiter.exempt(bp)
    app.register_blueprint(bp)


@bp.get("/healthz")
def healthz() -> Response:
    return _no_store(Response("ok\n", mimetype="text/plain"))


@bp.get("/readyz")
def readyz() -> Response:
    states = checks.readiness()
    ready = all(state in _READY.get(name, _READY_STATES) for name, state in states.items())
    response = jsonify(states)
    response.status_code = 200 if ready else 503
    return _no_store(response)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
