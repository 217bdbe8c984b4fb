"""Error pages in the user's language; never a stack trace, never a blank page."""

from __future__ import annotations

from flask import Flask, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from backoffice import audit, database, uploads
from backoffice.extensions import db, login_manager
from backoffice.i18n import current_language

MESSAGES = {
    400: _l("The request could not be understood. Go back and try again."),
    403: _l("You do not have permission to see this page."),
    404: _l("This page or record was not found."),
    405: _l("This action is not allowed here."),
    413: _l("What was sent is too large for this form. Go back and try again."),
    429: _l("Too many attempts. Please wait a little and try again."),
    500: _l("Something went wrong on our side. Nothing was saved; please try again."),
    503: _l("The database is not answering right now. Nothing was saved; please try again "
            "in a minute."),
}
RETRY_AFTER_SECONDS = 30  # what a 503 for a database outage asks clients to wait


def _render(code: int, message=None):
    text = message or MESSAGES.get(code, MESSAGES[500])
    try:
        return render_template("error.html", code=code, message=text), code
    except Exception as error:  # noqa: BLE001 - e.g. no URL adapter for a bad Host header
        current_app.logger.warning("error page %s drawn bare: %s", code, type(error).__name__)
        return _bare(code, text)


def _bare(code: int, text) -> tuple[str, int]:
    """The error page without the layout, for when the layout itself cannot be drawn."""
    return (f'<!doctype html><html lang="{escape(current_language())}"><meta charset="utf-8">'
            f"<title>{code}</title><h1>{code}</h1><p>{escape(text)}</p></html>", code)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return _render(400, _l("The form had expired. Reload the page and submit it again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 403 and getattr(current_user, "is_authenticated", False):
            db.session.rollback()  # log the refusal on its own, whatever the request did
            audit.record("auth.forbidden", details={"path": request.path[:200],
                                                    "method": request.method})
            db.session.commit()
        if error.code == 413 and uploads.file_limit() is not None:
            return _render(413, _l("The file is too large: at most %(n)s MB here. Go back and "
                                   "choose a smaller file.",
                                   n=f"{uploads.file_limit() / 1_000_000:g}"))
        return _render(error.code or 500, getattr(error, "user_message", None))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if database.unavailable(error):
            return _database_unavailable(error)
        app.logger.exception("unhandled error")
        db.session.rollback()  # the page below must not reuse a failed transaction
        return _render(500)


def _database_unavailable(error: Exception):
    """The database is down, restarting or out of connections: a 503 page at once, in
    the language of the session or cookie (the account's is in the database), and a log
    line without the driver's text (it can name the host)."""
    current_app.logger.warning("database unavailable: %s", type(error).__name__,
                               extra={"database": "unavailable"})
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001, S110 - the connection is gone; the pool replaces it
        pass
    g._login_user = login_manager.anonymous_user()  # do not ask the database who this is
    body, code = _render(503)
    return body, code, {"Retry-After": str(RETRY_AFTER_SECONDS)}
