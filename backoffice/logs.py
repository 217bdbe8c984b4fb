"""No personal data in any log line: phone numbers, voter IDs, email addresses and the
values of personal fields are masked in every record, whichever library logs it.

SQLAlchemy's own messages are kept free of bound values by the engine option
``hide_parameters`` (settings.py). What remains is text that carries values on its
own: PostgreSQL's error details ("Key (epic)=(ABC1234567) already exists",
"Failing row contains (...)"), exception messages, a library's debug line. Those
are masked here, when the record is made: a filter on one logger would miss the
records of its children, and one on a handler would miss handlers added later
(the server's, or pytest's); the record factory sees them all.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import time
import traceback
import uuid
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from sqlalchemy import inspect as sa_inspect

MASKED = "•••"

# Checked in this order; each pattern's value (group "value", or the whole match) is
# replaced. Indian mobiles: +91/0091/0 and ten digits from 6-9, with a space or dash
# anywhere people put one; voter IDs: three letters and seven digits.
_PATTERNS = [
    # PostgreSQL error details quote the row or the key's value.
    re.compile(r"Key \((?P<columns>[^)]*)\)=\((?P<value>[^\n]*?)\)(?= already exists|"
               r" is not present|\s*$)", re.MULTILINE),
    re.compile(r"Failing row contains \((?P<value>[^\n]*)\)"),
    # Personal fields written as name=value, name: value, 'name': 'value'.
    re.compile(r"""(?ix)\b(?:full_name|relative_name|name|address|mobile|phone|epic|email
               |login|date_of_birth)['"]?\s*[:=]\s*(?P<q>['"]?)(?P<value>[^'",;)}\n]+)(?P=q)"""),
    # A search typed into a list's URL (access logs print it): a name, often.
    re.compile(r"[?&](?:search|q|login)=(?P<value>[^&\s\"']+)"),
    re.compile(r"(?<![\w+])(?:(?:\+91|0091)[\s-]?|0)?[6-9](?:[\s-]?\d){9}(?!\w)"),
    re.compile(r"(?i)(?<!\w)[a-z]{3}[\s-]?\d{7}(?!\w)"),
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
]


# What each pattern cannot match without, tested first: most text (an access line, a
# path) has none of it, and a pattern tried at every position of the text costs far
# more (the personal fields' one most). Same order, same results as the patterns alone.
_SEVEN_DIGITS = re.compile(r"\d(?:[\s-]?\d){6}")  # a phone's ten and a voter ID's seven
_NEEDS = [
    lambda text: "Key (" in text,
    lambda text: "Failing row contains (" in text,
    lambda text: ":" in text or "=" in text,
    lambda text: "=" in text,
    lambda text: _SEVEN_DIGITS.search(text) is not None,
    lambda text: _SEVEN_DIGITS.search(text) is not None,
    lambda text: "@" in text,
]


def mask(text: str) -> str:
    """The text with every personal value it carries replaced by •••."""
    for pattern, needs in zip(_PATTERNS, _NEEDS, strict=True):
        if needs(text):
            text = pattern.sub(_masked, text)
    return text


def _masked(match: re.Match) -> str:
    if "value" not in match.re.groupindex:
        return MASKED
    start, end = match.span("value")
    whole = match.group(0)
    offset = match.start()
    return whole[:start - offset] + MASKED + whole[end - offset:]


def scrub(record: logging.LogRecord) -> logging.LogRecord:
    """Mask the record's message, traceback and stack in place; the arguments are
    merged into the message first (a value may be any of them)."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: log it as written
        message = str(record.msg)
    record.msg, record.args = mask(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = mask("".join(traceback.format_exception(*record.exc_info)).rstrip())
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    return record


def init_app(app: Flask | None = None) -> None:
    """Mask every record made in this process from now on (once, however many apps);
    give each request an id and an access line; write JSON lines unless testing."""
    _install_factory()
    if app is None:
        return
    app.before_request(_start_request)
    app.after_request(_finish_request)
    configure = app.config.get("LOG_CONFIGURE")
    if configure if configure is not None else not app.testing:
        configure_logging(app.config.get("LOG_LEVEL") or "INFO")


def _install_factory() -> None:
    current = logging.getLogRecordFactory()
    if getattr(current, "masks_personal_data", False):
        return

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = scrub(current(*args, **kwargs))
        record.request_id = current_request_id()
        return record

    make_record.masks_personal_data = True
    logging.setLogRecordFactory(make_record)


# Request ids (docs/logging.md): ours, unless a trusted proxy sent a sane one.
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
access_log = logging.getLogger("backoffice.access")


def current_request_id() -> str | None:
    """The id of the request being served (every log line carries it), else None."""
    if has_app_context():
        return g.get("request_id")
    return None


def _start_request() -> None:
    g.request_started = time.perf_counter()
    g.request_id = _request_id()


def _request_id() -> str:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    if current_app.config.get("PROXY_COUNT") and _SANE_ID.fullmatch(supplied):
        return supplied
    return uuid.uuid4().hex


def _user_id(user) -> int | None:
    """The logged-in user's id, only if loaded already, and from the session's identity
    map: after a commit the user's attributes are expired, and reading ``user.id``
    would load the row again just for this line."""
    if not getattr(user, "is_authenticated", False):
        return None
    state = sa_inspect(user, raiseerr=False)
    return state.identity[0] if state is not None and state.identity else user.id


def _finish_request(response):
    """The id on every response (errors too) and one access line; a warning if slow."""
    if not has_request_context():
        return response
    if g.get("request_id") is None:  # refused before our first hook ran
        g.request_id = uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = g.request_id
    started = g.get("request_started")
    duration = round((time.perf_counter() - started) * 1000, 1) if started else None
    fields = {"method": request.method, "path": mask(request.path), "status": response.status_code,
              "duration_ms": duration, "user_id": _user_id(g.get("_login_user"))}
    access_log.info("%s %s %s %s ms", request.method, fields["path"], response.status_code,
                    duration, extra=fields)
    slow = current_app.config.get("SLOW_REQUEST_MS", 1000)
    if duration is not None and slow is not None and duration > float(slow):
        access_log.warning("slow request: %s %s took %s ms (over %s)", request.method,
                           fields["path"], duration, slow, extra=fields | {"slow": True})
    return response


# The attributes every LogRecord has; anything else on a record came as `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "request_id", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, request_id, the
    record's `extra` fields, and the (masked) traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"timestamp": datetime.fromtimestamp(record.created, UTC)
                .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "level": record.levelname, "logger": record.name,
                "message": record.getMessage(),
                "request_id": getattr(record, "request_id", None)}
        line |= {key: mask(value) if isinstance(value, str) else value
                 for key, value in vars(record).items()
                 if key not in _STANDARD and not key.startswith("_")}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = mask(record.exc_text)
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on standard error for the root logger (the server's and every
    library's loggers propagate to it)."""
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
    })
