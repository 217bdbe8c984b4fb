"""The enroller's phone-check steps: send the code, type what the member reads out,
take the member's photo, then on to the next member. Laid out for a phone screen.

Every step can be reached again: from the member's page and from "my members
waiting for a code" (/waiting/), so a code lost on a bad network is one tap away.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.helpers import get_form_data
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import HiddenField, StringField
from wtforms.validators import Length

from backoffice.auth.roles import MEMBER_CREATE, MEMBER_VERIFY
from backoffice.auth.scoping import has_permission, member_filter, member_in_scope
from backoffice.database import commit_keeping_loaded
from backoffice.extensions import db
from backoffice.i18n import current_language
from backoffice.models import Member, PhoneVerification, utcnow
from backoffice.security import allows_camera
from backoffice.services import photos, verification
from backoffice.services.errors import ServiceError
from backoffice.services.membership_numbers import format_membership_no
from backoffice.services.privacy import mask_phone
from backoffice.uploads import accepts_file
from backoffice.views.base import AdminForm
from backoffice.views.ids import parse_id
from backoffice.views.page_parts import kept_per_app

#: how many of one's own members waiting for a code the list shows, newest first
WAITING_SHOWN = 50


class VerifyForm(AdminForm):
    step = HiddenField()
    code = StringField(_l("Code the member reads out"), validators=[Length(
        max=12, message=_l("Enter the 6-digit code, using the digits 0-9."))],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code",
                                  "pattern": "[0-9 ]*"})


class PhotoForm(AdminForm):
    photo = FileField(_l("Member's photo"),
                      render_kw={"accept": "image/*", "capture": "environment"})


def may_verify(member) -> bool:
    """Whether the current user may run this member's SMS check and photo steps."""
    return (member.erased_at is None and member.status not in ("rejected", "revoked")
            and member_in_scope(current_user, MEMBER_VERIFY, member))


class VerifyMixin:
    """/verify/?id= (send, check, photo) and /waiting/ (one's members without a check)."""

    def get_save_return_url(self, model, is_created=False):
        """A saved member still waiting for the phone check goes on to it: a new one,
        and one whose corrected number cleared the check."""
        if model.status == "recorded" and may_verify(model):
            return url_for(".verify", id=model.id)
        return super().get_save_return_url(model, is_created)

    def verify_steps(self, member) -> bool:
        """For the member's page: whether this user may open the SMS check and photo."""
        return may_verify(member)

    def _member_to_verify(self, *, lock: bool = False):
        """``lock``: with its row locked, as a send claims it (services.verification)."""
        if lock:
            key = parse_id(request.args.get("id", ""))
            member = None if key is None else (
                self.get_query().filter(Member.id == key).with_for_update(key_share=True)
                .populate_existing().one_or_none())
        else:
            member = self.get_one(request.args.get("id", ""))
        if member is None or not member_in_scope(current_user, MEMBER_VERIFY, member):
            abort(404)
        return member

    def _member_to_show(self):
        """The member (as _member_to_verify finds them) and whether a code was sent,
        in one query: the page is opened after every step."""
        key = parse_id(request.args.get("id", ""))
        found = None if key is None else (
            self.get_query().filter(Member.id == key).add_columns(_code_sent_clause())
            .one_or_none())
        if found is None or not member_in_scope(current_user, MEMBER_VERIFY, found[0]):
            abort(404)
        member, code_sent = found
        return member, bool(code_sent) and member.status == "recorded"

    @expose("/verify/", methods=["GET", "POST"])
    @allows_camera  # the photo is taken here: Permissions-Policy camera=(self)
    def verify(self):
        if request.method == "POST":  # a step, then back to this page (PRG)
            member = self._member_to_verify(lock=request.form.get("step") == "send")
            member_id = member.id  # the step commits: reading it afterwards reloads the row
            form = VerifyForm(request.form)
            if form.validate():
                self._verify_step(member, form)
            else:  # the reasons, in the user's language, on the page it goes back to
                for errors in form.errors.values():
                    for error in errors:
                        flash(str(error), "error")
            return redirect(url_for(".verify", id=member_id))
        member, code_sent = self._member_to_show()
        return self.render("admin/verify.html", member=member, fields=_blank_fields(),
                           phone=mask_phone(member.mobile),
                           number=format_membership_no(member.id), code_sent=code_sent,
                           may_record=has_permission(current_user, MEMBER_CREATE))

    def _verify_step(self, member, form) -> None:
        try:
            # settle: the claim is committed before the gateway is called (docs/sqlite.md);
            # the user and member stay loaded for the send's audit event.
            if form.step.data == "send":  # the member was read with its row locked
                result = verification.send_code(member, actor=current_user, ip=_client_ip(),
                                                locale=current_language(),
                                                settle=commit_keeping_loaded, locked=True)
            else:
                result = verification.check_code(member, form.code.data, actor=current_user,
                                                 settle=db.session.commit)
        except ServiceError as error:
            flash(str(error.message), "info")
            return
        db.session.commit()  # a failed send is kept too: it is part of the record
        flash(str(result.message), "success" if result.ok else "error")

    @expose("/photo/", methods=["POST"])
    @accepts_file("PHOTO_MAX_BYTES")
    def photo(self):
        member = self._member_to_verify()
        member_id = member.id
        form = PhotoForm(get_form_data())  # request.form and request.files together
        upload = form.photo.data
        try:
            photos.attach(member, upload.read() if upload else b"")
        except ServiceError as error:
            flash(str(error.message), "error")
        else:
            db.session.commit()
            flash(_("The photo is saved."), "success")
        return redirect(url_for(".verify", id=member_id))

    @expose("/waiting/")
    def waiting_view(self):
        """The members this user recorded whose phone is not checked yet, newest first:
        the way back to a code that did not arrive."""
        if not has_permission(current_user, MEMBER_VERIFY):
            abort(403)
        members = db.session.scalars(
            select(Member).where(member_filter(current_user, MEMBER_VERIFY),
                                 Member.recorded_by_id == current_user.id,
                                 Member.status == "recorded", Member.erased_at.is_(None))
            .order_by(Member.id.desc()).limit(WAITING_SHOWN)).all()
        return self.render("admin/waiting.html", members=[
            (member, format_membership_no(member.id), mask_phone(member.mobile))
            for member in members])


_FIELDS_KEPT = 64  # languages kept per app


def _blank_fields() -> dict:
    """The page's code and photo fields, drawn once per app and language: they are the
    same for every member and user (nothing typed in; a refused code is flashed). Each
    form's CSRF token is drawn every time by the template (csrf_token())."""
    return kept_per_app("verify_fields", str(get_locale()), _draw_fields, _FIELDS_KEPT)


def _draw_fields() -> dict:
    form = VerifyForm(meta={"csrf": False})
    photo = PhotoForm(meta={"csrf": False})
    return {
        "code_label": form.code.label(),
        "code": form.code(class_="form-control form-control-lg text-center", size=8,
                          maxlength=12),
        "photo_label": photo.photo.label(),
        "photo": photo.photo(class_="form-control-file"),
    }


def _code_sent_clause():
    """Whether a code that can still be typed in went to the member's current number, as
    a column of the member's own query."""
    return (select(PhoneVerification.id)
            .where(PhoneVerification.member_id == Member.id,
                   PhoneVerification.status == "pending",
                   PhoneVerification.phone == Member.mobile,
                   PhoneVerification.expires_at > utcnow())
            .exists())


def _client_ip() -> str:
    return request.remote_addr or ""
