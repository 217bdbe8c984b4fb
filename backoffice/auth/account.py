"""A staff user's own account: second-factor enrolment and password change."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from backoffice.auth import second_factor
from backoffice.auth.forms import CodeForm, PasswordChangeForm
from backoffice.auth.passwords import hash_password, verify_password
from backoffice.auth.scoping import user_row
from backoffice.extensions import db
from backoffice.services.staff import MIN_PASSWORD
from backoffice.urls import safe_next

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/second-factor", methods=["GET", "POST"], endpoint="second_factor")
@login_required
def second_factor_view():
    """Show a QR code for an authenticator app; switch TOTP on once a code matches."""
    user = user_row(current_user)  # the account's row: it is changed here
    secret = session.get(second_factor.PENDING_SECRET) or second_factor.new_secret()
    session[second_factor.PENDING_SECRET] = secret
    form = CodeForm()
    if form.validate_on_submit():
        if second_factor.check_code(user, form.code.data, secret=secret):
            user.totp_secret = secret
            user.totp_enabled = True
            db.session.commit()
            session.pop(second_factor.PENDING_SECRET, None)
            session[second_factor.SESSION_OK] = user.id
            flash(_("Two-step login is on. You will need your app's code at every login."),
                  "success")
            return redirect(safe_next(request.args.get("next")))
        db.session.rollback()
        flash(_("The code is wrong or was already used. Enter the current code from your app."),
              "error")
    uri = second_factor.provisioning_uri(user, secret)
    return render_template("auth/second_factor.html", form=form, qr=second_factor.qr_svg(uri),
                           secret=secret, required=second_factor.required_for(user))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's password; every other session of the account ends."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        # The account's row (not the proxy: login_user() would make it point at itself).
        user = user_row(current_user)
        if not verify_password(user.password_hash, form.current.data):
            form.current.errors = [_("The current password is wrong.")]
        elif len(form.new.data) < MIN_PASSWORD:
            form.new.errors = [_("The password must have at least %(n)s characters.",
                                 n=MIN_PASSWORD)]
        else:
            user.password_hash = hash_password(form.new.data)
            user.session_version += 1
            db.session.commit()
            login_user(user)  # this browser stays in, with the new session version
            session[second_factor.SESSION_OK] = user.id if user.totp_enabled else None
            flash(_("Your password is changed. Other devices have been logged out."), "success")
            return redirect(url_for("admin.index"))
    return render_template("auth/password.html", form=form)
