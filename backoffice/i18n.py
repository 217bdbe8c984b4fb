"""Hindi and English: the locale choice, the language switch, number and date formats.

Hindi comes first. "en" is served as en_IN so that numbers group the Indian
way (10,00,000) in English too; Babel's "hi" locale already does.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, Flask, current_app, has_request_context, redirect, request, session
from flask_babel import format_decimal, get_locale, get_translations
from flask_login import current_user

from backoffice.auth.scoping import user_row
from backoffice.extensions import babel, db
from backoffice.labels import label
from backoffice.urls import safe_next

bp = Blueprint("i18n", __name__)

_BABEL_LOCALE = {"hi": "hi", "en": "en_IN"}
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def select_locale() -> str:
    """The user's choice (session, account, cookie), else the drive's language (Hindi).

    The browser's Accept-Language is not asked: most Android phones in India
    send en-IN whatever their owner reads, so it would put most people on
    English pages they did not choose. English is one tap away on every page.
    """
    default = _BABEL_LOCALE[current_app.config["BABEL_DEFAULT_LOCALE"]]
    if not has_request_context():  # CLI commands and background work
        return default
    choices = [session.get("lang"), request.cookies.get(COOKIE)]
    if current_user and getattr(current_user, "is_authenticated", False):
        choices.insert(1, current_user.preferred_locale)
    for choice in choices:
        if choice in _BABEL_LOCALE:
            return _BABEL_LOCALE[choice]
    return default


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else "hi"


@bp.post("/language")
def switch_language():
    """Remember the chosen language in the session, a cookie and the account."""
    lang = request.form.get("lang", "")
    response = redirect(safe_next(request.form.get("next")))
    if lang not in _BABEL_LOCALE:
        return response
    session["lang"] = lang
    response.set_cookie(COOKIE, lang, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True)
    if (account := user_row(current_user)) is not None:  # nobody logged in: None
        account.preferred_locale = lang
        db.session.commit()
    return response


def indian_number(value: int | float | None) -> str:
    return "" if value is None else format_decimal(value)


IST = timedelta(hours=5, minutes=30)  # India keeps one offset all year


def short_date(value: date | datetime | str | None) -> str:
    """dd/mm/yyyy, as on Indian forms; datetimes (naive UTC, or ISO 8601 text in UTC
    as the audit log keeps them) are shown in IST as dd/mm/yyyy HH:MM.

    Plain arithmetic, not Babel's time-zone machinery: a list page formats a
    date per row, and the digits are the same in both languages.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value[:19])
    if isinstance(value, datetime):
        return (value + IST).strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


class FormMessages:
    """WTForms' own messages ("This field is required.", "Not a valid choice.") in the
    page's language. Flask-WTF looks them up in the catalogs WTForms ships, which have no
    Hindi, so they read in English on Hindi pages (/join included); it keeps what it loaded
    on ``request.wtforms_translations``. This object, put there first, reads them from the
    app's catalogs instead (settings.py: BABEL_DOMAIN "messages;wtforms", so
    translations/hi/LC_MESSAGES/wtforms.po) when a message is made. One instance serves
    every request: it keeps nothing."""

    def ugettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ungettext(singular, plural, n)


FORM_MESSAGES = FormMessages()


def _form_messages() -> None:
    request.wtforms_translations = FORM_MESSAGES


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(_form_messages)
    app.register_blueprint(bp)
    app.jinja_env.globals.update(current_language=current_language)
    app.jinja_env.filters.update(indian_number=indian_number, short_date=short_date,
                                 label=lambda code, kind: label(kind, code))
