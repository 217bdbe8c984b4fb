"""/dev/outbox: the console gateway's messages, for demos. Exists only in debug mode."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template

from backoffice.services.privacy import mask_phone

bp = Blueprint("outbox", __name__)


@bp.get("/dev/outbox")
def outbox():
    messages = [(mask_phone(m.phone), m.text, m.sent_at)
                for m in current_app.extensions["sms_gateway"].outbox]
    return render_template("outbox.html", messages=messages)


def init_app(app: Flask) -> None:
    if app.debug and app.config["ENV"] == "development" and app.config["SMS_GATEWAY"] in (
            "console", "memory"):
        app.register_blueprint(bp)
        app.context_processor(lambda: {"dev_outbox": True})  # templates link to it
