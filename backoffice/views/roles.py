"""Role assignments and new staff: delegated administration inside one's units.

Choices are built per request from the actor's scope, and every write goes
through services.staff, which checks the same rules server-side: a crafted
POST with another unit or a higher role is refused there.
"""

from __future__ import annotations

from flask import flash
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.helpers import get_form_data
from flask_admin.model.fields import AjaxSelectField
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from backoffice.auth.roles import ROLE_LABELS, STAFF_MANAGE, STAFF_VIEW
from backoffice.auth.scoping import has_permission, scoped_units, staff_filter, unit_filter
from backoffice.extensions import db
from backoffice.models import RoleAssignment, StaffUser, Unit
from backoffice.services import staff as staff_service
from backoffice.services.errors import ServiceError
from backoffice.services.privacy import mask_phone
from backoffice.views.base import AdminForm, ScopedModelView, choices, save_through
from backoffice.views.formatting import level_label, unit_column, unit_name
from backoffice.views.ids import parse_id


def _scoped_staff():
    return db.session.query(StaffUser).filter(
        staff_filter(current_user, STAFF_MANAGE), StaffUser.id != current_user.id
    ).order_by(StaffUser.full_name)


def _scoped_unit(unit_id: int) -> Unit:
    unit = db.session.scalar(
        scoped_units(current_user, STAFF_MANAGE).where(Unit.id == unit_id))
    return _found(unit)


def _id_of(row) -> int:
    """The id of a row an ajax field resolved (0, which no row has, for none)."""
    return getattr(row, "id", None) or 0


def _found(row):
    if row is None:
        raise ServiceError(_l("Not found in your units."))
    return row


def _role_choices():
    return [(role, str(ROLE_LABELS[role])) for role in staff_service.assignable_roles(current_user)]


class _ScopedLoader(QueryAjaxModelLoader):
    """Search-as-you-type choices (select2 asks /ajax/lookup/ as one types) drawn only
    from the current user's scope, per call: the loader is shared by every user, so
    it keeps nothing of one. A posted id outside the scope is no choice at all."""

    LIMIT = 20
    #: the deepest a list scrolled 20 at a time may go: Flask-Admin passes ?offset= as
    #: any int, and one past PostgreSQL's bigint (or SQLite's 64 bits) was a 500
    MAX_OFFSET = 10_000

    def scoped(self):
        raise NotImplementedError

    def get_query(self):
        return self.scoped()

    def get_one(self, pk):
        key = parse_id(pk)
        return None if key is None else self.scoped().filter(
            self.model.id == key).one_or_none()

    def get_list(self, term, offset=0, limit=LIMIT):
        return super().get_list(term or "", min(max(offset or 0, 0), self.MAX_OFFSET),
                                min(max(limit or self.LIMIT, 1), self.LIMIT))


class PeopleLoader(_ScopedLoader):
    """Staff the user manages (not themselves), by name, email or mobile."""

    def scoped(self):
        return _scoped_staff()

    def format(self, model):
        if model is None:
            return None
        login = model.email or mask_phone(model.mobile)
        return model.id, f"{model.full_name} · {login}"


class UnitLoader(_ScopedLoader):
    """Units the user appoints in, by Hindi or English name or code, each labelled
    with its level (Raipur the division is not Raipur the district)."""

    def scoped(self):
        return db.session.query(Unit).filter(
            Unit.id.in_(scoped_units(current_user, STAFF_MANAGE).with_only_columns(Unit.id)))

    def format(self, model):
        if model is None:
            return None
        parent = unit_name(model.parent_id)
        where = f" ({parent})" if parent and model.level not in ("state", "division") else ""
        return model.id, f"{level_label(model.level)}: {unit_name(model.id)}{where}"


PEOPLE = PeopleLoader("user", db.session, StaffUser, fields=("full_name", "email", "mobile"),
                      order_by=StaffUser.full_name)
UNITS = UnitLoader("unit", db.session, Unit, fields=("name_hi", "name_en", "code"),
                   order_by=Unit.path)


def _person_field():
    return AjaxSelectField(PEOPLE, _l("Person"), validators=[DataRequired()],
                           render_kw={"data-placeholder": _l("Type a name, email or mobile")})


def _unit_field():
    return AjaxSelectField(UNITS, _l("Unit"), validators=[DataRequired()],
                           render_kw={"data-placeholder": _l("Type the unit's name")})


def _role_field():
    return SelectField(_l("Role"), validators=[DataRequired()])


class RoleForm(AdminForm):
    user = _person_field()
    role = _role_field()
    unit = _unit_field()


class StaffForm(AdminForm):
    full_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=150)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    mobile = StringField(_l("Mobile"), validators=[Optional(), Length(max=24)])
    password = PasswordField(_l("First password"), validators=[DataRequired(), Length(max=256)])
    role = _role_field()
    unit = _unit_field()


class _WritesThroughService:
    """Shared create/delete plumbing: service errors become flashed messages."""

    @property
    def can_create(self):
        return has_permission(current_user, STAFF_MANAGE) and bool(_role_choices())

    @property
    def can_delete(self):
        return has_permission(current_user, STAFF_MANAGE)

    form_ajax_refs = {"user": PEOPLE, "unit": UNITS}

    def create_form(self, obj=None):
        """Roles from the actor's own, per request, none chosen in advance; people and
        units are searched as one types (the loaders above, scoped per call), and
        resolved again through the same scoped queries in create_model."""
        form = super().create_form(obj)
        form.role.choices = choices([("", _("Choose a role"))] + _role_choices())
        return form



class RoleAssignmentView(_WritesThroughService, ScopedModelView):
    permission = STAFF_VIEW
    column_list = ("user", "role", "unit_id", "created_at")
    column_labels = {"user": _l("Person"), "role": _l("Role"), "unit_id": _l("Unit"),
                     "created_at": _l("Since")}
    column_formatters = {"unit_id": unit_column("unit_id"),
                         "role": lambda v, c, m, n: ROLE_LABELS.get(m.role, m.role)}
    column_default_sort = ("id", True)
    column_sortable_list = ("created_at",)

    def scaffold_form(self):
        return RoleForm

    def scope_filter(self):
        in_scope = db.session.query(Unit.id).filter(unit_filter(current_user, STAFF_VIEW))
        return RoleAssignment.unit_id.in_(in_scope)

    def create_model(self, form):
        user = _scoped_staff().filter(StaffUser.id == _id_of(form.user.data)).one_or_none()
        return save_through(lambda: staff_service.assign_role(
            current_user, _found(user), form.role.data, _scoped_unit(_id_of(form.unit.data))))

    def delete_model(self, model):
        return save_through(lambda: staff_service.remove_role(current_user, model) or True)


class StaffEditForm(AdminForm):
    full_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=150)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    mobile = StringField(_l("Mobile"), validators=[Optional(), Length(max=24)])
    active = BooleanField(_l("Active (may log in)"))
    new_password = PasswordField(_l("New password (leave empty to keep)"),
                                 validators=[Optional(), Length(max=256)])


class StaffCreateMixin(_WritesThroughService):
    can_delete = False  # staff are deactivated, never deleted (the audit log names them)

    @property
    def can_edit(self):
        return has_permission(current_user, STAFF_MANAGE)

    def scaffold_form(self):
        return StaffForm

    def edit_form(self, obj=None):
        form = StaffEditForm(get_form_data(), obj=obj)
        if obj is not None and not staff_service.can_manage(current_user, obj):
            flash(_l("You may not change this person's account."), "error")
        return form

    def update_model(self, form, model):
        return save_through(lambda: staff_service.update_staff(
            current_user, model, full_name=form.full_name.data, email=form.email.data,
            mobile=form.mobile.data, active=form.active.data,
            new_password=form.new_password.data))

    def create_model(self, form):
        return save_through(lambda: staff_service.create_staff(
            current_user, full_name=form.full_name.data, email=form.email.data,
            mobile=form.mobile.data, password=form.password.data, role=form.role.data,
            unit=_scoped_unit(_id_of(form.unit.data))))
