"""The organisational units (read-only here; the state admin manages them)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from backoffice.auth.roles import UNIT_VIEW
from backoffice.auth.scoping import unit_filter
from backoffice.views.base import ScopedModelView
from backoffice.views.formatting import level_label, unit_column


def _level(view, context, model, name):
    return level_label(model.level)


class UnitView(ScopedModelView):
    permission = UNIT_VIEW
    column_list = ("code", "name_hi", "name_en", "level", "parent_id", "is_generated")
    column_labels = {
        "code": _l("Code"),
        "name_hi": _l("Name (Hindi)"),
        "name_en": _l("Name (English)"),
        "level": _l("Level"),
        "parent_id": _l("Part of"),
        "is_generated": _l("Demo data"),
    }
    column_formatters = {"parent_id": unit_column("parent_id"), "level": _level}
    column_default_sort = ("path", False)
    column_sortable_list = ("code", "name_en")
    column_searchable_list = ("code", "name_en", "name_hi")

    def scope_filter(self):
        return unit_filter(current_user, UNIT_VIEW)
