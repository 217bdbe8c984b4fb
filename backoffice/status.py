"""/status: a member looks up their own membership with an SMS code (docs/status.md).

Until the code is checked the pages answer alike for a registered number or voter
ID and for an unknown or erased one (services/lookups.py): the same redirects,
messages, cookie (a random handle), counts, cooldowns, limits, and time, each
step held like /join's to the median of recent real lookups (signups.Pace).
"""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length

from backoffice import sms
from backoffice.extensions import db, limiter
from backoffice.i18n import current_language
from backoffice.join import CodeForm
from backoffice.services import lookups, signups
from backoffice.services.errors import ValidationError

bp = Blueprint("status", __name__)
SESSION_KEY = "status_lookup"  # a random handle: services/signups.py open_row


def _limit():
    return current_app.config["STATUS_RATE_LIMIT"]


class LookupForm(FlaskForm):
    number = StringField(_l("Membership number or voter ID"),
                         validators=[DataRequired(), Length(max=30)],
                         render_kw={"autocomplete": "off", "autocapitalize": "characters",
                                    "spellcheck": "false"})


class NoticesForm(FlaskForm):
    notices = HiddenField(validators=[AnyOf(("on", "off"))])


@bp.route("/status", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def lookup():
    started = time.perf_counter()
    form = LookupForm()
    if form.validate_on_submit():
        try:
            row, handle = lookups.start(form.number.data)
        except ValidationError as error:  # the format alone: nothing registered is read
            db.session.rollback()
            form.number.errors.append(error.message)
        else:
            real = row.member_id is not None
            result = lookups.send(row, ip=request.remote_addr or "", locale=current_language(),
                                  settle=db.session.commit)
            db.session.commit()
            signups.pace().keep("status", real, started)
            session[SESSION_KEY] = handle
            _tell(result)
            return redirect(url_for("status.verify"))
    return render_template("status/lookup.html", form=form)


def _tell(result) -> None:
    if result.ok:
        flash(_("If this number is registered, we have sent a code by SMS to the mobile "
                "registered with it. It is valid for 10 minutes."), "success")
    elif str(result.message) in (str(sms.REASONS["unavailable"]),
                                 str(sms.REASONS["misconfigured"])):
        flash(_("We could not send the SMS just now. Try again in a few minutes."), "error")
    else:
        flash(str(result.message), "error")


def _row():
    return lookups.find(session.get(SESSION_KEY))


def _ended():
    session.pop(SESSION_KEY, None)
    flash(_("For your privacy the status page closes after a few minutes. Look it up "
            "again to see it."), "info")
    return redirect(url_for("status.lookup"))


@bp.route("/status/code", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def verify():
    started = time.perf_counter()
    row = _row()
    if row is None:
        return redirect(url_for("status.lookup"))
    if row.checked_at is not None:
        return redirect(url_for("status.show")) if lookups.is_open(row) else _ended()
    real = row.member_id is not None
    form = CodeForm()
    if form.validate_on_submit():
        if request.form.get("resend"):
            result = lookups.send(row, ip=request.remote_addr or "", locale=current_language(),
                                  settle=db.session.commit)
            db.session.commit()
            signups.pace().keep("status-resend", real, started)
            _tell(result)
            return redirect(url_for("status.verify"))
        result = lookups.check(row, form.code.data, settle=db.session.commit)
        db.session.commit()
        signups.pace().keep("status-check", real, started)
        if result.ok:  # only a registered member's right code gets here
            return redirect(url_for("status.show"))
        flash(str(result.message), "error")
        return redirect(url_for("status.verify"))
    return render_template("status/code.html", form=form)


@bp.route("/status/me")
def show():
    row = _row()
    if row is None:
        return redirect(url_for("status.lookup"))
    if not lookups.is_open(row):
        return _ended() if row.checked_at is not None else redirect(url_for("status.verify"))
    response = current_app.make_response(render_template(
        "status/show.html", status=lookups.status_of(row), notices_form=NoticesForm(),
        end_form=FlaskForm(),
        minutes=current_app.config["STATUS_SESSION_SECONDS"] // 60))
    response.headers["Cache-Control"] = "no-store"  # the member's own details
    return response


@bp.post("/status/notices")
@limiter.limit(_limit)
def notices():
    row = _row()
    if row is None or not lookups.is_open(row):
        return _ended() if row is not None else redirect(url_for("status.lookup"))
    form = NoticesForm()
    if form.validate_on_submit():
        off = form.notices.data == "off"
        lookups.set_opt_out(row, off)
        db.session.commit()
        flash(_("SMS notices are off. You will still get the SMS about the preliminary "
                "roll and its last day for claims.") if off
              else _("SMS notices are on."), "success")
    return redirect(url_for("status.show"))


@bp.post("/status/end")
def end():
    form = FlaskForm()
    row = _row()
    if form.validate_on_submit() and row is not None:
        lookups.close(row)
        db.session.commit()
    session.pop(SESSION_KEY, None)
    return redirect(url_for("status.lookup"))
