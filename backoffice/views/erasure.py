"""Erase a member's personal data at their request: a form on the member's page,
for those who may revoke memberships (district heads, the state)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from backoffice.auth.roles import MEMBER_REVOKE
from backoffice.auth.scoping import has_permission
from backoffice.extensions import db
from backoffice.services import erasure, workflow
from backoffice.services.errors import NotFound, ServiceError
from backoffice.views.base import AdminForm
from backoffice.views.ids import parse_id


class ErasureForm(AdminForm):
    reason = TextAreaField(_l("How the member asked, and when"),
                           validators=[Length(max=workflow.MAX_REASON)])
    confirm = BooleanField(
        _l("I understand that the name, mobile, voter ID, address, date of birth and photo "
           "are erased for good, and the membership ends."),
        validators=[DataRequired(_l("Tick the box to confirm."))])


class ErasureMixin:
    def can_erase(self) -> bool:
        return has_permission(current_user, MEMBER_REVOKE)

    @expose("/erase/", methods=["GET", "POST"])
    def erase_view(self):
        if not self.can_erase():
            abort(403)
        key = parse_id(request.args.get("id", ""))
        member = None if key is None else erasure.member_to_erase(current_user, key)
        if member is None:
            abort(404)
        if member.erased_at is not None:
            flash(_("This member's personal data was already erased."), "info")
            return redirect(url_for(".details_view", id=member.id))
        form = ErasureForm(request.form if request.method == "POST" else None)
        if request.method == "POST" and form.validate():
            try:
                done = erasure.erase(current_user, member.id, form.reason.data)
            except NotFound:
                abort(404)
            except ServiceError as error:
                db.session.rollback()
                form.reason.errors = [error.message]
            else:
                db.session.commit()  # the photo leaves storage with this commit
                flash(_("The member's personal data was erased."), "success")
                if done.final_rolls:
                    flash(_("The final roll %(rolls)s keeps the member's entry: a final roll "
                            "cannot change.", rolls=", ".join(done.final_rolls)), "warning")
                return redirect(url_for(".details_view", id=member.id))
        return self.render("admin/erase.html", form=form, member=member)
