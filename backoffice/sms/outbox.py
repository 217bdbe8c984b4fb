"""Whether the development outbox is on: debug mode with a gateway that keeps its
messages in memory. The page itself is backoffice/views/outbox.py."""

from __future__ import annotations

from flask import Flask


def enabled(app: Flask) -> bool:
    return bool(app.debug and app.config["ENV"] == "development"
                and app.config["SMS_GATEWAY"] in ("console", "memory"))


def init_app(app: Flask) -> None:
    if enabled(app):
        app.context_processor(lambda: {"dev_outbox": True})  # templates link to it
