"""The enroller's phone-check step: send the code, type what the member reads out,
and take the member's photo. Laid out for a phone screen."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.helpers import get_form_data
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import HiddenField, StringField
from wtforms.validators import Length

from backoffice.auth.roles import MEMBER_VERIFY
from backoffice.auth.scoping import member_in_scope
from backoffice.extensions import db
from backoffice.i18n import current_language
from backoffice.services import photos, verification
from backoffice.services.errors import ServiceError
from backoffice.services.membership_numbers import format_membership_no
from backoffice.services.privacy import mask_phone
from backoffice.uploads import accepts_file
from backoffice.views.base import AdminForm


class VerifyForm(AdminForm):
    step = HiddenField()
    code = StringField(_l("Code the member reads out"), validators=[Length(max=12)],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code",
                                  "pattern": "[0-9 ]*"})


class PhotoForm(AdminForm):
    photo = FileField(_l("Member's photo"),
                      render_kw={"accept": "image/*", "capture": "environment"})


class VerifyMixin:
    """/verify/?id=: for members still waiting for their phone check."""

    def get_save_return_url(self, model, is_created=False):
        if is_created and model.status == "recorded":
            return url_for(".verify", id=model.id)
        return super().get_save_return_url(model, is_created)

    def _member_to_verify(self):
        member = self.get_one(request.args.get("id", ""))
        if member is None or not member_in_scope(current_user, MEMBER_VERIFY, member):
            abort(404)
        return member

    @expose("/verify/", methods=["GET", "POST"])
    def verify(self):
        member = self._member_to_verify()
        form = VerifyForm(request.form if request.method == "POST" else None)
        if request.method == "POST" and form.validate():
            done = self._verify_step(member, form)
            if done:
                return redirect(url_for(".details_view", id=member.id))
            return redirect(url_for(".verify", id=member.id))
        return self.render("admin/verify.html", member=member, form=form,
                           photo_form=PhotoForm(), phone=mask_phone(member.mobile),
                           number=format_membership_no(member.id))

    def _verify_step(self, member, form) -> bool:
        try:
            # settle: the claim is committed before the gateway is called (docs/sqlite.md).
            if form.step.data == "send":
                result = verification.send_code(member, actor=current_user, ip=_client_ip(),
                                                locale=current_language(),
                                                settle=db.session.commit)
            else:
                result = verification.check_code(member, form.code.data, actor=current_user,
                                                 settle=db.session.commit)
        except ServiceError as error:
            flash(str(error.message), "info")
            return True
        db.session.commit()  # a failed send is kept too: it is part of the record
        flash(str(result.message), "success" if result.ok else "error")
        return result.ok and form.step.data != "send"

    @expose("/photo/", methods=["POST"])
    @accepts_file("PHOTO_MAX_BYTES")
    def photo(self):
        member = self._member_to_verify()
        form = PhotoForm(get_form_data())  # request.form and request.files together
        upload = form.photo.data
        try:
            photos.attach(member, upload.read() if upload else b"")
        except ServiceError as error:
            flash(str(error.message), "error")
        else:
            db.session.commit()
            flash(_("The photo is saved."), "success")
        return redirect(url_for(".verify", id=member.id))


def _client_ip() -> str:
    return request.remote_addr or ""
