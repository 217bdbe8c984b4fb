"""What counts as a record id in a URL, a form or a list action: ASCII digits within
the database column's range. Anything else is "no such record" (404) or a field's
"could not coerce" error, never a query the database refuses with an error."""

from __future__ import annotations

from flask import abort

#: the largest keys PostgreSQL's integer and bigint columns hold; a larger number
#: in a query is an error there ("out of range"), not a row not found
INT_MAX, BIGINT_MAX = 2**31 - 1, 2**63 - 1


def parse_id(value, maximum: int = INT_MAX) -> int | None:
    """A record id from a URL or a form: ASCII digits for 1 to ``maximum``, or None for
    anything else (abc, 1.5, 1e3, 1,2, -1, 0, +1, " 1", 1_0, ١٢, 10**30), which
    int() would take or the database would refuse with an error."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    key = int(text)
    return key if 0 < key <= maximum else None


def id_or_404(value, maximum: int = INT_MAX) -> int:
    """parse_id for a route or an action: what is not an id is a record not found."""
    key = parse_id(value, maximum)
    if key is None:
        abort(404)
    return key


def ids_or_404(values) -> list[int]:
    return [id_or_404(value) for value in values]


def form_id(value) -> int:
    """parse_id as a select field's coerce: a posted value that is not an id is the
    field's "could not coerce" error, never a query."""
    key = parse_id(value)
    if key is None:
        raise ValueError(value)
    return key


def optional_form_id(value) -> int | None:
    return None if value in (None, "", "None") else form_id(value)
