"""The start page: where the viewer's units stand, by member status."""

from __future__ import annotations

from flask_admin import expose
from flask_login import current_user

from backoffice.auth.roles import MEMBER_VIEW, ROLE_LABELS
from backoffice.auth.scoping import grants
from backoffice.models import STATUSES
from backoffice.services import stats
from backoffice.views.base import SecureIndexView
from backoffice.views.formatting import status_label, unit_name


class DashboardView(SecureIndexView):
    @expose("/")
    def index(self):
        counts = stats.status_counts(current_user, MEMBER_VIEW)
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
