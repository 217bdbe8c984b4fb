"""Column formatters shared by the admin lists."""

from __future__ import annotations

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.i18n import current_language, short_date
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


def status_label(status: str) -> str:
    """Translated once per request: a list page asks fifty times."""
    labels = g.get("_status_labels") if has_request_context() else None
    if labels is None:
        labels = {
            "recorded": _("Recorded"),
            "phone_verified": _("Phone verified"),
            "approved": _("Approved"),
            "rejected": _("Rejected"),
            "revoked": _("Revoked"),
        }
        if has_request_context():
            g._status_labels = labels
    return labels.get(status, status)


def status_column(view, context, model, name):
    return status_label(getattr(model, name))


def level_label(level: str) -> str:
    labels = {
        "state": _("State"),
        "division": _("Division"),
        "district": _("District"),
        "block": _("Block"),
        "zone": _("Zone"),
    }
    return labels.get(level, level)


def channel_label(channel: str) -> str:
    labels = {"enroller": _("Enroller"), "self": _("Self-enrolment"), "paper": _("Paper form")}
    return labels.get(channel, channel)
