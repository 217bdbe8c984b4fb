"""Public self-enrolment at /join: Hindi first, small phones, no outside services.

Automation is held off by per-address limits, a honeypot field and a signed
time stamp (forms posted faster than a person can type are ignored). The
page answers the same way whether or not a phone or voter ID is already
registered, so it cannot be used to find out who is a member.
"""

from __future__ import annotations

import time
from datetime import date

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
from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import select
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from backoffice import keys
from backoffice.extensions import db, limiter
from backoffice.i18n import current_language
from backoffice.models import Unit
from backoffice.services import members as member_service
from backoffice.services import referrals, signups
from backoffice.services.errors import ValidationError
from backoffice.services.membership_numbers import format_membership_no
from backoffice.views.member_forms import gender_field, relation_field

bp = Blueprint("join", __name__)
bp.record_once(lambda state: state.app.extensions.setdefault("join_pace", signups.Pace()))
SESSION_KEY = "join_signup"  # a random handle: services/signups.py


class JoinForm(FlaskForm):
    block_id = SelectField(_l("Your block"), coerce=lambda v: int(v) if v else None)
    full_name = StringField(_l("Your full name"), validators=[DataRequired(), Length(max=150)])
    relation = relation_field()
    relative_name = StringField(_l("Father's / husband's name"),
                                validators=[DataRequired(), Length(max=150)])
    gender = gender_field()
    date_of_birth = DateField(_l("Date of birth"), validators=[DataRequired()])
    mobile = StringField(_l("Your mobile number"), validators=[DataRequired(), Length(max=24)],
                         render_kw={"inputmode": "tel", "autocomplete": "tel"})
    epic = StringField(_l("Voter ID (EPIC)"), validators=[Optional(), Length(max=14)])
    address = TextAreaField(_l("Address"), validators=[Length(max=500)], render_kw={"rows": 2})
    booth_no = StringField(_l("Booth"), validators=[Optional(), Length(max=12)])
    consent = BooleanField(_l("I have read the privacy notice and agree"),
                           validators=[DataRequired(_l("Agree to the privacy notice to join."))])
    website = StringField(render_kw={"tabindex": "-1", "autocomplete": "off"})  # honeypot
    started = HiddenField()
    ref = HiddenField()  # a recruiter link's code (services/referrals.py)


class CodeForm(FlaskForm):
    code = StringField(_l("The 6-digit code from the SMS"), validators=[Length(max=12)],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})


class NumberForm(FlaskForm):
    mobile = StringField(_l("Your correct mobile number"),
                         validators=[DataRequired(), Length(max=24)],
                         render_kw={"inputmode": "tel", "autocomplete": "tel"})


STAMP_PURPOSE = "join/form-served"


def _stamp() -> str:
    return keys.serializer(STAMP_PURPOSE).dumps(time.time())


def _started(form: JoinForm) -> float | None:
    """When the form was served, from its signed stamp; None if the stamp is missing,
    forged, or older than JOIN_FORM_MAX_SECONDS (a stamp is not a pass for ever)."""
    try:
        return float(keys.serializer(STAMP_PURPOSE).loads(
            form.started.data or "", max_age=current_app.config["JOIN_FORM_MAX_SECONDS"]))
    except (BadSignature, TypeError, ValueError, OverflowError):  # Expired is a BadSignature
        return None


def _stale(form: JoinForm) -> bool:
    """A genuine stamp past its age: the person left the page open. Say so and show the
    form again with a new stamp, rather than drop their signup as automated."""
    try:
        keys.serializer(STAMP_PURPOSE).loads(
            form.started.data or "", max_age=current_app.config["JOIN_FORM_MAX_SECONDS"])
    except SignatureExpired:
        flash(_("This page was open too long. Check your details and submit again."),
              "error")
        return True
    except BadSignature:
        return False
    return False


def _looks_automated(form: JoinForm) -> bool:
    if form.website.data:
        return True
    started = _started(form)
    return started is None or time.time() - started < current_app.config["JOIN_MIN_SECONDS"]


def _block_choices() -> list[SelectChoice]:
    """Blocks grouped by district (an optgroup each, so a district's name is sent
    once, not once per block: the page is light on a slow network), in the page's
    language."""
    districts = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.level == "district"))}
    blocks = db.session.scalars(select(Unit).where(Unit.level == "block")).all()
    blocks.sort(key=lambda b: (str(districts[b.parent_id]), str(b)))
    return [SelectChoice("", _("Choose your block"))] + [
        SelectChoice(b.id, str(b), optgroup=str(districts[b.parent_id])) for b in blocks]


@bp.route("/join", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["JOIN_RATE_LIMIT"], methods=["POST"])
def join():
    started = time.perf_counter()
    form = JoinForm()
    form.block_id.choices = _block_choices()
    if form.validate_on_submit() and not _stale(form):
        if _looks_automated(form):
            return _begin(started, None, form.mobile.data)  # the normal answer; nothing sent
        data = member_service.MemberInput(**{name: form[name].data
                                             for name in member_service.EDITABLE
                                             if name in form} | {"zone_id": None})
        try:
            member = member_service.record(
                None, data, channel="self",
                notice_version=current_app.config["PRIVACY_NOTICE_VERSION"])
        except ValidationError as error:
            if error.code in ("epic_taken", "phone_full"):  # about someone else's signup
                db.session.rollback()
                if error.code == "epic_taken":
                    member_service.log_refused_epic(form.epic.data, form.block_id.data)
                return _begin(started, None, form.mobile.data)  # the answer of a real one
            field = form._fields.get(error.field or "")
            (field.errors.append(error.message) if field is not None
             else flash(str(error.message), "error"))
        else:
            referrals.attribute(member, form.ref.data)  # the same code step follows
            return _begin(started, member)
    form.started.data = _stamp()
    if request.method == "GET":
        form.ref.data = referrals.clean(request.args.get("ref")) or ""
    return render_template("join/form.html", form=form,
                           notice=current_app.config["PRIVACY_NOTICE_VERSION"])


def _begin(started: float, member, typed_mobile=None):
    """On to the code step, alike for a new member and a refused or automated signup:
    the cookie holds a random handle either way, and a refused one is answered by a
    stand-in with the same counts, cooldowns and time (services/signups.py)."""
    signup, handle = signups.start(member, typed_mobile)
    # The member (if any) and the claimed send are committed before the SMS gateway is
    # called; the member is kept even if the SMS failed.
    result = signups.send(signup, ip=request.remote_addr or "", locale=current_language(),
                          settle=db.session.commit)
    db.session.commit()
    signups.pace().keep("join", member is not None, started)
    session[SESSION_KEY] = handle
    _tell(result)
    return redirect(url_for("join.verify"))


def _tell(result) -> None:
    """The member's own words: 'your mobile', not the enroller's 'the member's'."""
    if result.ok:
        flash(_("We have sent a code by SMS to your mobile. It is valid for 10 minutes."),
              "success")
    elif result.wait_seconds:
        flash(str(result.message), "error")
    else:
        flash(_("We could not send the SMS just now. Your details are saved: tap "
                "\"Send the code again\" in a few minutes."), "error")


@bp.route("/join/verify", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["JOIN_RATE_LIMIT"], methods=["POST"])
def verify():
    started = time.perf_counter()
    signup = signups.find(session.get(SESSION_KEY))
    if signup is None:
        return redirect(url_for("join.join"))
    member_id = signup.member_id  # read now: after a commit it would be reloaded
    real = member_id is not None
    form = CodeForm()
    if form.validate_on_submit():
        if request.form.get("resend"):
            result = signups.send(signup, ip=request.remote_addr or "",
                                  locale=current_language(), settle=db.session.commit)
            db.session.commit()
            signups.pace().keep("resend", real, started)
            _tell(result)
            return redirect(url_for("join.verify"))
        result = signups.check(signup, form.code.data, settle=db.session.commit)
        db.session.commit()
        signups.pace().keep("check", real, started)
        if result.ok:  # only the real code gets here: a stand-in never matches
            session.pop(SESSION_KEY, None)
            return render_template("join/done.html",
                                   membership_no=format_membership_no(member_id))
        flash(str(result.message), "success" if result.ok else "error")
        return redirect(url_for("join.verify"))
    return render_template("join/verify.html", form=form, number_form=NumberForm(),
                           number=signups.masked_number(signup))


@bp.post("/join/number")
@limiter.limit(lambda: current_app.config["JOIN_RATE_LIMIT"])
def correct_number():
    """A typo in the number: send the code to the corrected one, alike for a member
    and a refused signup (services/signups.py correct_number)."""
    started = time.perf_counter()
    signup = signups.find(session.get(SESSION_KEY))
    if signup is None:
        return redirect(url_for("join.join"))
    form = NumberForm()
    if not form.validate_on_submit():
        flash(_("Type your 10-digit mobile number."), "error")
        return redirect(url_for("join.verify"))
    try:
        signups.correct_number(signup, form.mobile.data)
    except ValidationError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("join.verify"))
    real = signup.member_id is not None
    result = signups.send(signup, ip=request.remote_addr or "", locale=current_language(),
                          settle=db.session.commit)
    db.session.commit()
    signups.pace().keep("number", real, started)
    _tell(result)
    return redirect(url_for("join.verify"))


@bp.route("/r/<code>")
def recruiter_link(code: str):
    """A recruiter's short link (and QR code): the join form, carrying the code."""
    return redirect(url_for("join.join", ref=referrals.clean(code) or None))


@bp.route("/privacy")
def privacy():
    return render_template("join/privacy.html",
                           version=current_app.config["PRIVACY_NOTICE_VERSION"],
                           today=date.today())
