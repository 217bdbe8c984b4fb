"""Recruiters: the user's own recruiter link and QR code, and who recruited most this
week in each block and district the user may see (services/referrals.py)."""

from __future__ import annotations

from flask import current_app, request
from flask_admin import expose
from flask_login import current_user
from markupsafe import Markup

from backoffice.auth.roles import DASHBOARD_VIEW, MEMBER_VIEW
from backoffice.auth.scoping import user_row
from backoffice.extensions import db
from backoffice.i18n import short_date
from backoffice.services import referrals
from backoffice.views.base import SecureView


def base_url() -> str:
    return (current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")


class RecruitersView(SecureView):
    permission = DASHBOARD_VIEW

    @expose("/")
    def index(self):
        code = referrals.code_for(user_row(current_user))
        db.session.commit()  # the code, made once
        url = referrals.link(code, base_url())
        since = referrals.week_start()
        return self.render(
            "admin/referrals.html", url=url,
            qr=Markup(referrals.qr_svg(url)),  # noqa: S704 (qrcode's SVG of our own link)
            since=short_date((since + referrals.IST).date()),
            blocks=referrals.leaderboard(current_user, MEMBER_VIEW, "block", since=since),
            districts=referrals.leaderboard(current_user, MEMBER_VIEW, "district",
                                            since=since))
