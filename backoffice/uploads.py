"""Request size limits: every request is small unless its view takes a file.

Flask refuses a body larger than ``request.max_content_length`` with 413 as
soon as anything reads the form, before a byte of it is parsed. The CSRF
check reads the form in a ``before_request`` hook, before the view runs, so
the limit cannot be set inside the view: the request asks the view it is
routed to (marked with :func:`accepts_file`) what it takes.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, has_request_context, request
from flask import Request as FlaskRequest

# Room for the form's other fields and the multipart boundaries around the file.
FORM_OVERHEAD = 64 * 1024
_MARK = "upload_limit_setting"


def accepts_file(setting: str) -> Callable:
    """Mark a view that takes one file of at most ``app.config[setting]`` bytes."""

    def mark(view: Callable) -> Callable:
        setattr(view, _MARK, setting)  # Flask-Admin's wrapper copies it (functools.wraps)
        return view

    return mark


def file_limit(routed: FlaskRequest | None = None) -> int | None:
    """The largest file the request's view takes, or None if it takes none."""
    if routed is None:
        if not has_request_context():
            return None
        routed = request
    if routed.url_rule is None:
        return None
    setting = getattr(current_app.view_functions.get(routed.endpoint), _MARK, None)
    return current_app.config[setting] if setting else None


class Request(FlaskRequest):
    def _limit(self) -> int | None:
        if self._max_content_length is None and current_app:
            largest = file_limit(self)
            if largest is not None:
                return largest + FORM_OVERHEAD
        return FlaskRequest.max_content_length.fget(self)

    max_content_length = property(_limit, FlaskRequest.max_content_length.fset)


def init_app(app: Flask) -> None:
    app.request_class = Request
