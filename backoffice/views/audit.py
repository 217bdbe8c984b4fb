"""The audit log, read-only and scoped: events about the viewer's units and staff."""

from __future__ import annotations

import json

from flask import g
from flask_admin.contrib.sqla.filters import DateTimeBetweenFilter
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import and_, or_, select, true

from backoffice.audit import capture
from backoffice.auth.roles import AUDIT_VIEW, ROLE_LABELS
from backoffice.auth.scoping import grants_for, staff_filter, unit_filter, unit_in_scope
from backoffice.extensions import db
from backoffice.i18n import short_date
from backoffice.labels import options as label_options
from backoffice.models import AuditEvent, StaffUser, Unit
from backoffice.services.membership_numbers import format_membership_no
from backoffice.views.base import ScopedModelView
from backoffice.views.filters import OptionFilter
from backoffice.views.formatting import label_column, unit_column, unit_name


def audit_scope(user):
    """Events about units in the user's audit scope, and about staff they oversee."""
    if any(grant.level == "state" for grant in grants_for(user, AUDIT_VIEW)):
        return true()
    units = select(Unit.id).where(unit_filter(user, AUDIT_VIEW))
    staff = select(StaffUser.id).where(staff_filter(user, AUDIT_VIEW))
    return or_(AuditEvent.unit_id.in_(units),
               and_(AuditEvent.entity_type == "staff", AuditEvent.entity_id.in_(staff)))


def staff_name(user_id: int | None) -> str:
    if user_id is None:
        return ""
    names = g.setdefault("_staff_names", {})
    if user_id not in names:
        names[user_id] = db.session.scalar(select(StaffUser.full_name)
                                           .where(StaffUser.id == user_id)) or f"#{user_id}"
    return names[user_id]


def _actor(view, context, model, name):
    return staff_name(model.actor_user_id)


#: what other events are about, named in the reader's language beside their number
_ENTITY_NAMES = {"role": _l("Role"), "roll": _l("Roll"), "import": _l("Paper form"),
                 "target": _l("Target")}


def _entity(view, context, model, name):
    if model.entity_type == "member" and model.entity_id:
        return format_membership_no(model.entity_id)
    if model.entity_type == "staff" and model.entity_id:
        return staff_name(model.entity_id)
    if model.entity_type == "unit" and model.entity_id:
        return unit_name(model.entity_id) or model.entity_id
    noun = _ENTITY_NAMES.get(model.entity_type or "", model.entity_type or "")
    return f"{noun} {model.entity_id or ''}".strip()


def _json(view, context, model, name):
    value = json.loads(getattr(model, name) or "{}")
    if not value:
        return ""
    return Markup("<br>").join(f"{key}: {item}" for key, item in sorted(value.items()))


def _roles(view, context, model, name):
    """The roles the actor held when acting, only those in the viewer's units (the
    actor's work elsewhere is not the viewer's to know), as "Role · Unit"."""
    held = []
    for entry in json.loads(model.actor_roles or "[]"):
        role, _at, unit_id = str(entry).partition("@")
        unit = db.session.get(Unit, int(unit_id)) if unit_id.isdigit() else None
        if unit_in_scope(current_user, AUDIT_VIEW, unit):
            held.append(f"{ROLE_LABELS.get(role, role)} · {unit_name(unit.id)}")
    return Markup("<br>").join(held)  # escapes each plain string it joins


def _when(view, context, model, name):
    """The stored ISO time (UTC) as IST, dd/mm/yyyy HH:MM."""
    return short_date(model.occurred_at)


ACTIONS = (
    "member.create", "member.update", "member.verify_phone", "member.approve", "member.reject",
    "member.revoke", "member.erase", "member.rescope", "member.import", "member.seed",
    "member.possible_duplicate", "member.decision_undone",
    "member.state_baseline", "member.export", "otp.send",
    "otp.send_failed", "otp.check", "staff.create", "staff.update", "role.create",
    "role.delete", "unit.create", "unit.update", "auth.login", "auth.login_failed",
    "auth.locked", "auth.forbidden", "auth.logout", "auth.second_factor_failed",
)


class AuditEventView(ScopedModelView):
    permission = AUDIT_VIEW
    can_view_details = True
    column_list = ("seq", "occurred_at", "actor_user_id", "action", "entity_id", "unit_id",
                   "reason")
    column_list_reads = ("entity_type",)  # _entity shows a member or staff id by its type
    column_details_list = ("seq", "occurred_at", "actor_user_id", "actor_roles", "source_ip",
                           "request_id", "action", "entity_id", "unit_id", "changes", "reason",
                           "details", "prev_hash", "row_hash")
    column_labels = {"seq": _l("No."), "occurred_at": _l("When"), "actor_user_id": _l("Who"),
                     "actor_roles": _l("Roles"), "source_ip": _l("Address"),
                     "request_id": _l("Request"), "action": _l("What"),
                     "entity_id": _l("About"), "unit_id": _l("Unit"), "changes": _l("Changes"),
                     "reason": _l("Reason"), "details": _l("Details"),
                     "prev_hash": _l("Previous hash"), "row_hash": _l("Hash")}
    column_formatters = {"actor_user_id": _actor, "entity_id": _entity, "changes": _json,
                         "details": _json, "unit_id": unit_column("unit_id"),
                         "occurred_at": _when, "action": label_column("action")}
    column_formatters_detail = column_formatters | {"actor_roles": _roles}
    column_default_sort = ("seq", True)
    column_sortable_list = ("seq",)
    column_filters = (
        OptionFilter(AuditEvent.action, _l("What"),
                     options=lambda: label_options("action", ACTIONS)),
        OptionFilter(AuditEvent.actor_user_id, _l("Who"), options=lambda: scoped_actor_options()),
        DateTimeBetweenFilter(AuditEvent.occurred_at, _l("When")),
    )

    def scope_filter(self):
        return audit_scope(current_user)

    def get_list(self, *args, **kwargs):
        capture.settle_now(db.session)  # the viewer's own latest acts are listed
        return super().get_list(*args, **kwargs)


def scoped_actor_options():
    if not getattr(current_user, "is_authenticated", False):
        return []
    people = db.session.execute(select(StaffUser.id, StaffUser.full_name).where(
        staff_filter(current_user, AUDIT_VIEW)).order_by(StaffUser.full_name)).all()
    return [(str(person.id), person.full_name) for person in people]


def member_history(member_id: int) -> list[AuditEvent]:
    """A member's events, oldest first (for the member's details page)."""
    capture.settle_now(db.session)  # a decision just taken is among them
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "member",
                                 AuditEvent.entity_id == member_id)
        .order_by(AuditEvent.seq)).all()
