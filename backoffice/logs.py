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

import logging
import re
import traceback

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


def mask(text: str) -> str:
    """The text with every personal value it carries replaced by •••."""
    for pattern in _PATTERNS:
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


def init_app(_app=None) -> None:
    """Mask every record made in this process from now on (once, however many apps)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "masks_personal_data", False):
        return

    def make_record(*args, **kwargs) -> logging.LogRecord:
        return scrub(current(*args, **kwargs))

    make_record.masks_personal_data = True
    logging.setLogRecordFactory(make_record)
