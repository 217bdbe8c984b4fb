"""Staff authentication, the permission table and scoping."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from backoffice.auth import account, login
from backoffice.auth.scoping import load_user
from backoffice.extensions import login_manager


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    # Bound to the account, not to the address: mobile networks change a phone's
    # address all day, and "strong" would log the enroller out each time. "basic"
    # only marks such a session not fresh. What ends a session is its account's
    # session version (password change, _load_session_user), logout (which clears
    # it) and the signed cookie's age (PERMANENT_SESSION_LIFETIME).
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_session_user)
    app.register_blueprint(login.bp)
    app.register_blueprint(account.bp)


def _load_session_user(session_id: str):
    """Sessions carry "id:version"; a bumped version (password change) ends them."""
    user_id, _sep, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = load_user(int(user_id))
    if user is None or user.session_version != int(version):
        return None
    return user
