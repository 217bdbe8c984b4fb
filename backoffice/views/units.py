"""The organisational units: everyone sees their own; the state admin manages them."""

from __future__ import annotations

from flask import flash
from flask_admin.model.fields import AjaxSelectField
from flask_babel import lazy_gettext as _l
from flask_login import current_user
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
    save_through,
)
from backoffice.views.formatting import level_label, unit_column
from backoffice.views.roles import UnitLoader


def _level(view, context, model, name):
    return level_label(model.level)


class ParentLoader(UnitLoader):
    """Units a new or moved unit may belong to, searched as one types (366 units would
    be a long list): the state admin's managed units above zone level, per call."""

    def scoped(self):
        return db.session.query(Unit).filter(unit_filter(current_user, UNIT_MANAGE),
                                             Unit.level != "zone")


PARENTS = ParentLoader("parent_id", db.session, Unit, fields=("name_hi", "name_en", "code"),
                       order_by=Unit.path)


class UnitForm(AdminForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name_hi = StringField(_l("Name (Hindi)"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=120)])
    level = SelectField(_l("Level"))
    parent_id = AjaxSelectField(PARENTS, _l("Part of"),
                                render_kw={"data-placeholder": _l("Type the unit's name")})


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
    form_ajax_refs = {"parent_id": PARENTS}

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
        if isinstance(form.parent_id.data, int):  # an edited unit's own parent, by id
            form.parent_id.data = PARENTS.get_one(form.parent_id.data)
        return form

    def create_form(self, obj=None):
        return self._with_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        form = self._with_choices(super().edit_form(obj))
        del form.level  # a unit keeps its level; move it under another parent instead
        return form

    def _parent(self, form) -> Unit:
        parent = form.parent_id.data  # resolved through PARENTS: in scope, or None
        if not isinstance(parent, Unit) or not has_permission(current_user, UNIT_MANAGE):
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
