"""One check of what every request sends, before any view (or the CSRF check) reads it.

No page here takes a NUL byte, a control character, bytes that are not UTF-8
or a value of more than FIELD_MAX_CHARS characters, and PostgreSQL refuses a
NUL in text outright: left to the views, such input would reach a query and
fail there as a 500, on one database and not the other. Werkzeug passes bytes
that are not UTF-8 on as the literal text "%FF" (U+FFFD in a multipart form),
to be stored as if typed; they are refused too. Such a request gets 400 and a
page in the user's language; a browser never sends one from what a person typed.
The facts behind each rule: docs/crafted-input.md.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote_to_bytes

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest

#: The longest single value (a query argument, a form field, a cookie) any page takes:
#: the longest form fields (address, reasons) allow 500.
FIELD_MAX_CHARS = 10_000
# NUL and the other C0 controls but tab, line feed and carriage return; DEL; and the
# replacement character that stands for bytes that were not UTF-8.
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
MESSAGE = _l("What was sent contains characters this site cannot take (control characters "
             "or text that is not Unicode), or a value that is far too long. Go back, "
             "correct it and try again.")


class RefusedInput(BadRequest):
    """400, with the message errors.py shows for it."""

    user_message = MESSAGE


def refused(value: str) -> bool:
    return len(value) > FIELD_MAX_CHARS or _REFUSED.search(value) is not None


def _texts():
    """Every name and value the request carries: query, cookies, form, file names."""
    sources = [request.args, request.cookies]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
        yield from (text for name, upload in request.files.items(multi=True)
                    for text in (name, upload.filename or ""))
    for source in sources:
        for name, values in source.lists():
            yield name
            yield from values


def _undecodable() -> bool:
    """Percent-encoded bytes that are not UTF-8 (``%ff``, a lone surrogate's ``%ed%a0%80``):
    werkzeug keeps them as the literal text "%FF", which would be stored as typed."""
    raw = [request.query_string]
    if request.mimetype == "application/x-www-form-urlencoded":
        raw.append(request.get_data(cache=True))  # the form is parsed from this copy
    try:
        for data in raw:
            unquote_to_bytes(data.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def check_request() -> None:
    if _undecodable() or any(refused(text) for text in _texts()):
        raise RefusedInput
    if request.remote_addr:
        try:
            ipaddress.ip_address(request.remote_addr)
        except ValueError:  # a forged X-Forwarded-For, taken as the address by ProxyFix
            raise RefusedInput from None


def init_app(app: Flask) -> None:
    """Call before csrf.init_app: the CSRF check reads the form too."""
    app.before_request(check_request)
