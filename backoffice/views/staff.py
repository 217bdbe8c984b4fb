"""Staff users and their roles, scoped to the units the viewer oversees."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from backoffice.auth.roles import ROLE_LABELS, STAFF_VIEW
from backoffice.auth.scoping import staff_filter, unit_in_scope
from backoffice.models import RoleAssignment, StaffUser
from backoffice.views.base import ScopedModelView
from backoffice.views.formatting import date_column, unit_name
from backoffice.views.roles import StaffCreateMixin


def _roles(view, context, model, name):
    """The person's roles inside the viewer's units: someone who also works
    elsewhere is listed here, but where else is not the viewer's to know."""
    # Markup.join escapes each plain string it joins.
    return Markup("<br>").join(
        f"{ROLE_LABELS.get(role.role, role.role)} · {unit_name(role.unit_id)}"
        for role in model.roles if unit_in_scope(current_user, STAFF_VIEW, role.unit)
    )


class StaffView(StaffCreateMixin, ScopedModelView):
    permission = STAFF_VIEW
    column_list = ("full_name", "email", "mobile", "roles", "active", "last_login_at")
    column_labels = {
        "full_name": _l("Name"),
        "email": _l("Email"),
        "mobile": _l("Mobile"),
        "roles": _l("Roles"),
        "active": _l("Active"),
        "last_login_at": _l("Last login"),
    }
    column_formatters = {"roles": _roles, "last_login_at": date_column}
    column_default_sort = ("full_name", False)
    column_sortable_list = ("full_name",)
    column_searchable_list = ("full_name", "email", "mobile")

    def scope_filter(self):
        return staff_filter(current_user, STAFF_VIEW)

    def get_query(self):
        return super().get_query().options(
            selectinload(StaffUser.roles).selectinload(RoleAssignment.unit))
