"""Column formatters shared by the admin lists."""

from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.i18n import current_language, short_date
from backoffice.labels import LABELS, label
from backoffice.models import Unit


def unit_name(unit_id: int | None) -> str:
    """A unit's name in the current language, from one query per request.

    Lists show a block and district per row; a join or a lazy load per row
    would cost more than reading the (small) unit table once.
    """
    if unit_id is None:
        return ""
    names = g.get("_unit_names")
    if names is None:  # in the page's language, resolved once
        hindi = current_language() == "hi"
        rows = db.session.execute(select(Unit.id, Unit.name_en, Unit.name_hi)).all()
        names = g._unit_names = {row.id: (row.name_hi if hindi and row.name_hi
                                          else row.name_en) for row in rows}
    return names.get(unit_id, "")


def unit_column(attribute: str):
    def format_unit(view, context, model, name):
        return unit_name(getattr(model, attribute))

    return format_unit


def date_column(view, context, model, name):
    return short_date(getattr(model, name))


def label_text(kind: str, code: str | None) -> str:
    """A stored code's label (backoffice/labels.py), translated once per request and
    kind: a list page asks fifty times."""
    if code is None:
        return ""
    if not has_request_context():
        return str(label(kind, code))
    translated = g.setdefault("_labels", {})
    names = translated.get(kind)
    if names is None:
        names = translated[kind] = {key: str(value) for key, value in LABELS[kind].items()}
    return names.get(code, code)


def label_column(kind: str):
    """A column formatter showing a stored code by its label."""
    def format_label(view, context, model, name):
        return label_text(kind, getattr(model, name))

    return format_label


def status_label(status: str) -> str:
    return label_text("status", status)


def status_column(view, context, model, name):
    return status_label(getattr(model, name))


def level_label(level: str) -> str:
    return label_text("level", level)


def channel_label(channel: str) -> str:
    return label_text("channel", channel)
