"""Rolls for returning officers (create, freeze, publish, decide, finalise, export) and
the claims page for office holders who file claims and objections."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from backoffice.audit import capture
from backoffice.auth.roles import ROLL_CLAIM, ROLL_MANAGE
from backoffice.auth.scoping import grants_for, scoped_units, unit_filter
from backoffice.extensions import db
from backoffice.models import AuditEvent, Roll, RollClaim, RollEntry, Unit
from backoffice.services import roll_exports, rolls
from backoffice.services.errors import ServiceError
from backoffice.services.membership_numbers import parse_membership_no
from backoffice.views.base import (
    AdminForm,
    ScopedModelView,
    SecureView,
    choices,
    save_through,
)
from backoffice.views.formatting import date_column, label_column, unit_column
from backoffice.views.ids import form_id, id_or_404
from backoffice.views.roll_files import RollFilesMixin


class RollForm(AdminForm):
    unit_id = SelectField(_l("Unit"), coerce=form_id)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=150)])
    cut_off = DateField(_l("Cut-off date"), validators=[DataRequired()])


class RollView(RollFilesMixin, ScopedModelView):
    permission = ROLL_MANAGE
    can_create = True
    can_view_details = True
    details_template = "admin/roll_details.html"
    column_list = ("title", "unit_id", "cut_off", "status", "entry_count", "claims_until")
    column_details_list = (*column_list, "created_at", "frozen_at", "published_at",
                           "finalised_at")
    column_labels = {"title": _l("Title"), "unit_id": _l("Unit"), "cut_off": _l("Cut-off date"),
                     "status": _l("Status"), "entry_count": _l("Members"),
                     "claims_until": _l("Claims until"), "created_at": _l("Created on"),
                     "frozen_at": _l("Frozen on"), "published_at": _l("Published on"),
                     "finalised_at": _l("Made final on")}
    column_formatters = {"unit_id": unit_column("unit_id"), "cut_off": date_column,
                         "claims_until": date_column, "status": label_column("roll")}
    column_default_sort = ("id", True)
    column_sortable_list = ("cut_off",)

    def scope_filter(self):
        return Roll.unit_id.in_(select(Unit.id).where(unit_filter(current_user, ROLL_MANAGE)))

    def scaffold_form(self):
        return RollForm

    def create_form(self, obj=None):
        form = super().create_form(obj)
        units = db.session.scalars(scoped_units(current_user, ROLL_MANAGE))
        form.unit_id.choices = choices((u.id, str(u)) for u in units)
        return form

    def create_model(self, form):
        return save_through(lambda: rolls.create(
            current_user, db.session.get(Unit, form.unit_id.data), form.cut_off.data,
            form.title.data))

    def render(self, template, **kwargs):
        roll = kwargs.get("model")
        if template == self.details_template and roll is not None:
            kwargs["claims"] = db.session.scalars(select(RollClaim).where(
                RollClaim.roll_id == roll.id).order_by(RollClaim.id)).all()
            capture.settle_now(db.session)  # an export just made is in the list
            kwargs["exports"] = db.session.scalars(select(AuditEvent).where(
                AuditEvent.action == "roll.export", AuditEvent.entity_id == roll.id)
                .order_by(AuditEvent.seq.desc()).limit(20)).all()
            kwargs["booths"] = db.session.execute(
                select(RollEntry.booth_no, db.func.count()).where(
                    RollEntry.roll_id == roll.id, RollEntry.removed.is_(False))
                .group_by(RollEntry.booth_key, RollEntry.booth_no)
                .order_by(RollEntry.booth_key, RollEntry.booth_no)).all()
            kwargs["today"] = date.today()
            kwargs["formats"] = roll_exports.FORMATS
        return super().render(template, **kwargs)

    def _roll(self):
        roll = self.get_one(request.values.get("id", ""))
        if roll is None:
            abort(404)
        return roll

    @expose("/step/", methods=["POST"])
    def step(self):
        roll = self._roll()
        action = request.form.get("action")
        try:
            if action == "freeze":
                count = rolls.freeze(current_user, roll.id)
                message = _("Frozen: %(n)s members on the roll.", n=count)
            elif action == "publish":
                until = date.fromisoformat(request.form.get("claims_until", ""))
                rolls.publish(current_user, roll.id, until)
                message = _("Published. Claims and objections are open.")
            elif action == "finalise":
                rolls.finalise(current_user, roll.id)
                message = _("The roll is final.")
            elif action in ("accept", "reject"):
                rolls.decide(current_user, id_or_404(request.form.get("claim", "")),
                             action == "accept", request.form.get("reason", ""))
                message = _("Decision recorded.")
            else:
                abort(400)
        except (ServiceError, ValueError) as error:
            db.session.rollback()
            flash(str(getattr(error, "message", _("Check the date."))), "error")
        else:
            db.session.commit()
            flash(message, "success")
        return redirect(url_for(".details_view", id=roll.id))


class ClaimForm(AdminForm):
    roll_id = SelectField(_l("Roll"), coerce=form_id)
    kind = SelectField(_l("Kind"), choices=choices([
        ("claim", _l("Claim: a member is missing")),
        ("objection", _l("Objection: someone should not be on the roll"))]))
    membership_no = StringField(_l("Membership no."), validators=[DataRequired(), Length(max=20)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class ClaimsView(SecureView):
    """Office holders file claims and objections against published rolls above them."""

    permission = ROLL_CLAIM

    @expose("/", methods=["GET", "POST"])
    def index(self):
        form = ClaimForm(request.form if request.method == "POST" else None)
        paths = [grant.path for grant in grants_for(current_user, ROLL_CLAIM)]
        open_rolls = db.session.scalars(
            select(Roll).join(Unit, Unit.id == Roll.unit_id)
            .where(Roll.status == "preliminary",
                   or_(*(db.literal(path).startswith(Unit.path) for path in paths),
                       *(Unit.path.startswith(path) for path in paths)))).all()
        form.roll_id.choices = choices((r.id, f"{r.title} ({r.cut_off:%d/%m/%Y})")
                                       for r in open_rolls)
        if request.method == "POST" and form.validate():
            member_id = parse_membership_no(form.membership_no.data)
            try:
                if member_id is None:
                    raise ServiceError(_l("Check the membership number: it is mistyped."))
                rolls.file_claim(current_user, form.roll_id.data, form.kind.data, member_id,
                                 form.reason.data)
            except ServiceError as error:
                db.session.rollback()
                flash(str(error.message), "error")
            else:
                db.session.commit()
                flash(_("Filed. The returning officer will decide."), "success")
                return redirect(url_for(".index"))
        mine = db.session.scalars(select(RollClaim).where(
            RollClaim.filed_by_id == current_user.id).order_by(RollClaim.id.desc())).all()
        return self.render("admin/claims.html", form=form, claims=mine)
