"""Login and logout pages for staff."""

from __future__ import annotations

import time
from datetime import timedelta

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
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from backoffice import audit
from backoffice.auth import second_factor
from backoffice.auth.forms import CodeForm, LoginForm
from backoffice.auth.passwords import hash_password, needs_rehash, verify_password
from backoffice.extensions import db, limiter
from backoffice.models import StaffUser, utcnow
from backoffice.services.errors import ValidationError
from backoffice.services.validation import normalise_mobile
from backoffice.urls import safe_next

bp = Blueprint("auth", __name__)
PENDING = "login_pending_second_factor"
PENDING_SECONDS = 300


def find_staff(login: str) -> StaffUser | None:
    """A staff user by email (any case) or by mobile number in any Indian format."""
    login = login.strip()
    if "@" in login:
        where = func.lower(StaffUser.email) == login.lower()
    else:
        try:
            where = StaffUser.mobile == normalise_mobile(login)
        except ValidationError:
            return None
    return db.session.execute(select(StaffUser).where(where)).scalar_one_or_none()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = find_staff(form.login.data)
        error = _check_credentials(user, form.password.data, form.login.data)
        db.session.commit()
        if error is None:
            if user.totp_enabled:
                session[PENDING] = {"id": user.id, "version": user.session_version,
                                    "next": form.next.data, "at": time.time()}
                return redirect(url_for("auth.login_code"))
            login_user(user)
            if second_factor.required_for(user):
                return redirect(url_for("account.second_factor", next=form.next.data))
            return redirect(safe_next(form.next.data))
        flash(error, "error")
    return render_template("auth/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login_code():
    """The second step for users with TOTP: the six digits from their app."""
    pending = session.get(PENDING) or {}
    user = db.session.get(StaffUser, pending.get("id", 0))
    if (user is None or pending.get("version") != user.session_version
            or time.time() - pending.get("at", 0) > PENDING_SECONDS):
        session.pop(PENDING, None)
        flash(_("Please log in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        error = _check_code(user, form.code.data)
        db.session.commit()
        if error is None:
            session.pop(PENDING, None)
            login_user(user)
            session[second_factor.SESSION_OK] = user.id
            return redirect(safe_next(pending.get("next")))
        flash(error, "error")
    return render_template("auth/code.html", form=form)


def _check_code(user: StaffUser, code: str) -> str | None:
    now = utcnow()
    if user.locked_until and user.locked_until > now:
        return _("Too many wrong attempts. Try again later.")
    if second_factor.check_code(user, code):
        user.failed_logins = 0
        audit.record("auth.login", actor=user, entity_type="staff", entity_id=user.id,
                     details={"second_factor": "totp"})
        return None
    _count_failure(user, now)
    audit.record("auth.second_factor_failed", entity_type="staff", entity_id=user.id)
    return _("The code is wrong or was already used. Enter the current code from your app.")


def _check_credentials(user: StaffUser | None, password: str, login_name: str) -> str | None:
    """None if the password is right; else the message to show. Counts failures."""
    now = utcnow()
    if user is not None and user.locked_until and user.locked_until > now:
        verify_password(None, password)  # same cost as a real check
        audit.record("auth.login_refused_locked", entity_type="staff", entity_id=user.id)
        minutes = int((user.locked_until - now).total_seconds() // 60) + 1
        return _(
            "Too many wrong passwords. This account is locked for %(minutes)s more minutes.",
            minutes=minutes,
        )
    if not verify_password(user.password_hash if user else None, password) or not user.active:
        if user is not None:
            _count_failure(user, now)
        audit.record("auth.login_failed", entity_type="staff",
                     entity_id=user.id if user else None,
                     details={"login": audit.pii("login", login_name.strip().lower())})
        return _("The login name or password is wrong.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.start_session()
    audit.record("auth.password_ok" if user.totp_enabled else "auth.login", actor=user,
                 entity_type="staff", entity_id=user.id)
    return None


def _count_failure(user: StaffUser, now) -> None:
    config = current_app.config
    user.failed_logins += 1
    if user.failed_logins >= config["LOGIN_MAX_FAILURES"]:
        user.locked_until = now + timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"])
        user.failed_logins = 0
        audit.record("auth.locked", entity_type="staff", entity_id=user.id,
                     details={"minutes": config["LOGIN_LOCKOUT_MINUTES"]})


@bp.post("/logout")
@login_required
def logout():
    audit.record("auth.logout", entity_type="staff", entity_id=current_user.id)
    db.session.commit()
    logout_user()
    session.clear()  # the second-factor mark, audit reference, pending codes: all of it
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
