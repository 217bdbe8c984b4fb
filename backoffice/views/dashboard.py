"""The start page: where the viewer's units stand, by member status."""

from __future__ import annotations

from flask_admin import expose
from flask_login import current_user
from sqlalchemy import func, select

from backoffice.auth.roles import MEMBER_VIEW, ROLE_LABELS
from backoffice.auth.scoping import grants, member_filter
from backoffice.extensions import db
from backoffice.models import STATUSES, Member
from backoffice.views.base import SecureIndexView
from backoffice.views.formatting import status_label, unit_name


class DashboardView(SecureIndexView):
    @expose("/")
    def index(self):
        rows = db.session.execute(
            select(Member.status, func.count())
            .where(member_filter(current_user, MEMBER_VIEW))
            .group_by(Member.status)
        ).all()
        counts = dict.fromkeys(STATUSES, 0) | {status: count for status, count in rows}
        assignments = [
            (ROLE_LABELS.get(grant.role, grant.role), unit_name(grant.unit_id))
            for grant in grants(current_user)
        ]
        return self.render(
            "admin/dashboard.html",
            counts=[(status_label(s), counts[s]) for s in STATUSES],
            total=sum(counts.values()),
            assignments=assignments,
        )
