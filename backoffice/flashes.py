"""The messages waiting in the session cookie for the next page, kept few.

Flask keeps each ``flash()`` in the session until a page shows it. A client that
posts and does not follow the redirect (a script, a phone that lost the page, a
form sent again and again) never shows one, and the list grew with every post:
a cookie to decode, re-encode and sign on each request, larger each time, until
a browser drops it. Only the newest FLASHES_KEPT wait; the older ones are about
actions the user has since gone past.
"""

from __future__ import annotations

from flask import Flask, session
from werkzeug.wrappers import Response

FLASHES_KEPT = 5
_KEY = "_flashes"  # Flask's own session key for flashed messages


def keep_newest(response: Response) -> Response:
    waiting = session.get(_KEY)
    if waiting and len(waiting) > FLASHES_KEPT:
        session[_KEY] = waiting[-FLASHES_KEPT:]
    return response


def init_app(app: Flask) -> None:
    app.after_request(keep_newest)
