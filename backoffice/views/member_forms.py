"""The member form (record and correct), laid out for a phone screen.

Choices are built from the actor's units (kept for a short while, see
_unit_choices); the service checks every value again against the database, so a
crafted POST, or a choice of a unit changed meanwhile, gains nothing.
"""

from __future__ import annotations

import time

from flask import current_app, flash, g, redirect
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from backoffice.auth.roles import MEMBER_CREATE, MEMBER_EDIT
from backoffice.auth.scoping import grants_for, has_permission, scoped_units
from backoffice.database import commit_keeping_loaded
from backoffice.extensions import db
from backoffice.models import Unit
from backoffice.services import members as member_service
from backoffice.services.errors import ServiceError, ValidationError
from backoffice.views.base import AdminForm, choices
from backoffice.views.ids import optional_form_id


def relation_field() -> SelectField:
    return SelectField(_l("Relation"), choices=choices([("father", _l("Father")),
                                                        ("husband", _l("Husband"))]))


def gender_field() -> SelectField:
    return SelectField(_l("Gender"), choices=choices(
        [("female", _l("Female")), ("male", _l("Male")), ("other", _l("Other"))]))


class MemberForm(AdminForm):
    full_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=150)],
                            render_kw={"autocomplete": "off"})
    relation = relation_field()
    relative_name = StringField(_l("Father's / husband's name"),
                                validators=[DataRequired(), Length(max=150)])
    gender = gender_field()
    date_of_birth = DateField(_l("Date of birth"), validators=[DataRequired()])
    mobile = StringField(_l("Mobile"), validators=[DataRequired(), Length(max=24)],
                         render_kw={"inputmode": "tel", "autocomplete": "off"})
    epic = StringField(_l("Voter ID (EPIC)"), validators=[Optional(), Length(max=14)],
                       render_kw={"autocapitalize": "characters"})
    address = TextAreaField(_l("Address"), validators=[Length(max=500)], render_kw={"rows": 2})
    block_id = SelectField(_l("Block"), coerce=optional_form_id)
    zone_id = SelectField(_l("Zone"), coerce=optional_form_id, validate_choice=False)
    booth_no = StringField(_l("Booth"), validators=[Optional(), Length(max=12)],
                           render_kw={"inputmode": "numeric"})
    fee_receipt_no = StringField(_l("Fee receipt"), validators=[Optional(), Length(max=40)])
    consent = BooleanField(_l("The member has read the privacy notice and agrees"))


# The choices are kept per app (process) for a short while: units change rarely and the
# form is opened for every member recorded. An entry is for the roots of a scope (so
# a changed grant finds another entry on the very next request) in one language; any
# unit written in this process drops every entry (at its flush and at the end of its
# transaction); another process's change shows within CHOICES_SECONDS. The choices only
# offer: the save checks the chosen units against the database (services.members.place).
CHOICES_SECONDS = 30.0
_CHOICES_KEPT = 256  # entries per app at most (scopes x languages)
_units_written = [0]  # units written in this process: entries of an earlier count are stale


def _unit_choices(permission) -> tuple[list, list]:
    """The actor's blocks and zones as choices ((id, name)), the zones after a blank."""
    roots = tuple(sorted({grant.path for grant in grants_for(current_user, permission)}))
    locale = get_locale()
    key = (roots, str(locale) if locale else "en")
    kept = current_app.extensions.setdefault("member_form_unit_choices", {})
    now, written = time.monotonic(), _units_written[0]
    found = kept.get(key)
    if found is None or found[0] != written or found[1] <= now:
        units = db.session.execute(
            scoped_units(current_user, permission, levels=["block", "zone"])).scalars().all()
        found = (written, now + CHOICES_SECONDS,
                 choices([(u.id, str(u)) for u in units if u.level == "block"]),
                 choices([("", "—"), *((u.id, str(u)) for u in units if u.level == "zone")]))
        if len(kept) >= _CHOICES_KEPT:
            kept.clear()
        kept[key] = found
    return list(found[2]), list(found[3])


def _units_changed(*_args) -> None:
    _units_written[0] += 1


def _flushed(session, _context) -> None:
    if any(isinstance(obj, Unit) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["member_form_units_written"] = True
        _units_changed()


def _bulk(execution) -> None:
    table = getattr(execution.statement, "table", None)
    if table is not None and table.name == "unit" and not execution.is_select:
        execution.session.info["member_form_units_written"] = True
        _units_changed()


def _ended(session, transaction) -> None:
    if transaction.parent is None and session.info.pop("member_form_units_written", False):
        _units_changed()  # committed or rolled back: what was read meanwhile is stale


for _name, _hook in (("after_flush", _flushed), ("do_orm_execute", _bulk),
                     ("after_transaction_end", _ended)):
    if not event.contains(Session, _name, _hook):
        event.listen(Session, _name, _hook)


class MemberFormMixin:
    """Create and edit for member views, through services.members."""

    @property
    def can_create(self):
        return has_permission(current_user, MEMBER_CREATE)

    @property
    def can_edit(self):
        return has_permission(current_user, MEMBER_EDIT)

    create_template = "admin/member_create.html"
    edit_template = "admin/member_edit.html"

    def scaffold_form(self):
        return MemberForm

    def _with_choices(self, form, permission):
        form.block_id.choices, form.zone_id.choices = _unit_choices(permission)
        return form

    def create_form(self, obj=None):
        return self._with_choices(super().create_form(obj), MEMBER_CREATE)

    def edit_form(self, obj=None):
        form = self._with_choices(super().edit_form(obj), MEMBER_EDIT)
        del form.consent  # consent is given once, when the member is recorded
        return form

    def _input(self, form) -> member_service.MemberInput:
        return member_service.MemberInput(**{
            name: form[name].data for name in member_service.EDITABLE})

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        """Flask-Admin answers "save and add another" and "save and continue" itself,
        past get_save_return_url: a posted one (the page offers neither) still leads a
        new member to the SMS step, so nothing saves a member without offering it."""
        response = super().create_view()
        created = g.pop("_created_member", None)
        if created is not None and response.status_code in (301, 302, 303):
            return redirect(self.get_save_return_url(created, is_created=True))
        return response

    def create_model(self, form):
        notice = current_app.config["PRIVACY_NOTICE_VERSION"] if form.consent.data else None
        member = self._save(form, lambda: member_service.record(
            current_user, self._input(form), channel="enroller", notice_version=notice))
        if member:
            g._created_member = member  # this request's, for create_view
        return member

    def update_model(self, form, model):
        return self._save(form, lambda: member_service.update(
            current_user, model.id, self._input(form)))

    def validate_form(self, form):
        """WTForms' checks, and when they fail, the service's rules too: every mistake is
        marked in one round trip, not the form's first and then the service's."""
        if super().validate_form(form):
            return True
        if (isinstance(form, MemberForm) and form.is_submitted()
                and "csrf_token" not in form.errors):
            permission = MEMBER_EDIT if "consent" not in form else MEMBER_CREATE
            consent = form.consent.data if "consent" in form else True
            try:
                member_service.check(current_user, self._input(form), permission=permission,
                                     consent=consent)
            except ValidationError as error:
                _mark(form, error, only_clean_fields=True)
        return False

    def _save(self, form, write):
        try:
            member = write()
        except ValidationError as error:
            db.session.rollback()
            if any(e.code == "epic_taken" for e in getattr(error, "errors", [error])):
                member_service.log_refused_epic(form.epic.data, form.block_id.data)
                db.session.commit()
            _mark(form, error)
            return False
        except ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "error")
            return False
        # What follows (the redirect: the member's id, status and units) reads only what
        # this transaction wrote: kept loaded, not read again.
        commit_keeping_loaded()
        self.after_model_change(form, member, True)
        return member

    def delete_model(self, model):
        flash(_("Members are never deleted: reject or revoke them with a reason."), "error")
        return False


def _mark(form, error: ValidationError, only_clean_fields: bool = False) -> None:
    """Each refusal beside its field, as text (Flask-Admin shows only str errors, not
    lazy ones); a refusal naming no field of the form is flashed."""
    for refusal in getattr(error, "errors", [error]):
        field = form._fields.get(refusal.field or "")
        if field is None:
            flash(str(refusal.message), "error")
        elif not (only_clean_fields and field.errors):
            field.errors = [*field.errors, str(refusal.message)]
