"""Login and logout pages for staff."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from backoffice.auth.forms import LoginForm
from backoffice.auth.passwords import hash_password, needs_rehash, verify_password
from backoffice.extensions import db
from backoffice.models import StaffUser, utcnow
from backoffice.services.errors import ValidationError
from backoffice.services.validation import normalise_mobile
from backoffice.urls import safe_next

bp = Blueprint("auth", __name__)


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
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = find_staff(form.login.data)
        error = _check_credentials(user, form.password.data)
        db.session.commit()
        if error is None:
            login_user(user)
            return redirect(safe_next(form.next.data))
        flash(error, "error")
    return render_template("auth/login.html", form=form)


def _check_credentials(user: StaffUser | None, password: str) -> str | None:
    """None if the password is right; else the message to show. Counts failures."""
    now = utcnow()
    if user is not None and user.locked_until and user.locked_until > now:
        verify_password(None, password)  # same cost as a real check
        minutes = int((user.locked_until - now).total_seconds() // 60) + 1
        return _(
            "Too many wrong passwords. This account is locked for %(minutes)s more minutes.",
            minutes=minutes,
        )
    if not verify_password(user.password_hash if user else None, password) or not user.active:
        if user is not None:
            _count_failure(user, now)
        return _("The login name or password is wrong.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return None


def _count_failure(user: StaffUser, now) -> None:
    config = current_app.config
    user.failed_logins += 1
    if user.failed_logins >= config["LOGIN_MAX_FAILURES"]:
        user.locked_until = now + timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"])
        user.failed_logins = 0


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
