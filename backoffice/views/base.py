"""The secure, scoped base for every admin view.

Flask-Admin views are open by default and ModelView's get_one ignores
get_query (shared/notes/flask-admin-scoping.md). Every view here inherits
SecureView's access check; every model view inherits ScopedModelView, which
routes list, count and single-row reads through one scoped query built by
backoffice.auth.scoping.
"""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement

from backoffice.auth.roles import DASHBOARD_VIEW
from backoffice.auth.scoping import has_permission
from backoffice.extensions import db


class AdminForm(FlaskForm):
    """Flask-WTF form base for admin forms: a CSRF token on every form, and
    WTForms messages from the app's catalogs (Flask-Admin's own lookup finds
    no Hindi ones)."""

    def __init__(self, formdata=None, obj=None, prefix="", **kwargs):
        self._obj = obj
        super().__init__(formdata=formdata, obj=obj, prefix=prefix, **kwargs)


class SecureMixin:
    """Logged-in staff holding ``permission`` somewhere; others are refused."""

    permission: str = DASHBOARD_VIEW

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and has_permission(current_user, self.permission)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)


class SecureIndexView(SecureMixin, AdminIndexView):
    pass


class SecureView(SecureMixin, BaseView):
    pass


class ScopedModelView(SecureMixin, ModelView):
    """A ModelView whose every read goes through ``scope_filter()``.

    Subclasses return the SQL filter of the rows the current user may see.
    Writes are off until a subclass turns them on and checks its unit
    references server-side (on_model_change).
    """

    form_base_class = AdminForm
    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    can_set_page_size = False
    page_size = 50
    fast_mass_delete = False  # would skip delete hooks and the audit log

    def __init__(self, model, **kwargs):
        super().__init__(model, db, **kwargs)

    def scope_filter(self) -> ColumnElement[bool]:
        raise NotImplementedError

    def get_query(self):
        return super().get_query().filter(self.scope_filter())

    def get_count_query(self):
        return super().get_count_query().filter(self.scope_filter())

    def get_one(self, id):
        """The row only if it is in scope; a bad or foreign id looks missing."""
        text = str(id)
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            return None
        return self.get_query().filter(self.model.id == int(text)).one_or_none()
