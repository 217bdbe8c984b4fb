"""The organisational units: everyone sees their own; the state admin manages them."""

from __future__ import annotations

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from backoffice.auth.roles import UNIT_MANAGE, UNIT_VIEW
from backoffice.auth.scoping import has_permission, unit_filter
from backoffice.extensions import db
from backoffice.i18n import indian_number
from backoffice.models import LEVELS, Unit
from backoffice.services import units as unit_service
from backoffice.services.errors import ServiceError
from backoffice.views.base import (
    AdminForm,
    ScopedModelView,
    choices,
    optional_form_id,
    save_through,
)
from backoffice.views.formatting import level_label, unit_column


def _level(view, context, model, name):
    return level_label(model.level)


class UnitForm(AdminForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name_hi = StringField(_l("Name (Hindi)"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=120)])
    level = SelectField(_l("Level"))
    parent_id = SelectField(_l("Part of"), coerce=optional_form_id)


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

    @property
    def can_create(self):
        return has_permission(current_user, UNIT_MANAGE)

    @property
    def can_edit(self):
        return has_permission(current_user, UNIT_MANAGE)

    def scope_filter(self):
        return unit_filter(current_user, UNIT_VIEW)

    def scaffold_form(self):
        return UnitForm

    def _with_choices(self, form):
        form.level.choices = choices((level, level_label(level)) for level in LEVELS[1:])
        parents = db.session.scalars(select(Unit).where(
            unit_filter(current_user, UNIT_MANAGE), Unit.level != "zone").order_by(Unit.path))
        form.parent_id.choices = choices(
            (unit.id, f"{level_label(unit.level)}: {unit}") for unit in parents)
        return form

    def create_form(self, obj=None):
        return self._with_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        form = self._with_choices(super().edit_form(obj))
        del form.level  # a unit keeps its level; move it under another parent instead
        return form

    def _parent(self, form) -> Unit:
        parent = db.session.get(Unit, form.parent_id.data or 0)
        if parent is None or not has_permission(current_user, UNIT_MANAGE):
            raise ServiceError(_l("Choose the unit it belongs to."))
        return parent

    def create_model(self, form):
        return self._save(lambda: unit_service.create_unit(
            level=form.level.data, code=form.code.data.strip().upper(),
            name_en=form.name_en.data.strip(), name_hi=form.name_hi.data.strip(),
            parent=self._parent(form)))

    def update_model(self, form, model):
        def write():
            model.code = form.code.data.strip().upper()
            model.name_en, model.name_hi = form.name_en.data.strip(), form.name_hi.data.strip()
            parent = self._parent(form)
            if parent.id != model.parent_id:
                moved = unit_service.move_unit(model, parent)
                flash(_l("Moved; %(n)s members now count under the new unit.",
                         n=indian_number(moved)), "info")
            return model
        return self._save(write)

    def _save(self, write):
        def write_and_flush():
            unit = write()
            try:
                db.session.flush()
            except IntegrityError:  # the unique index on the code refuses a duplicate
                raise ServiceError(_l("This code is already used by another unit.")) from None
            return unit

        return save_through(write_and_flush)
