"""The start page: where the viewer's units stand against their targets, day by day."""

from __future__ import annotations

from datetime import timedelta

from flask_admin import expose
from flask_login import current_user

from backoffice.auth.roles import DASHBOARD_VIEW, MEMBER_VIEW, ROLE_LABELS
from backoffice.auth.scoping import grants, grants_for
from backoffice.extensions import db
from backoffice.models import STATUSES, Unit, utcnow
from backoffice.services import audit_reports, stats, targets
from backoffice.views.base import SecureIndexView
from backoffice.views.formatting import status_label, unit_name


class DashboardView(SecureIndexView):
    @expose("/")
    def index(self):
        counts = stats.status_counts(current_user, MEMBER_VIEW)
        units = [db.session.get(Unit, grant.unit_id)
                 for grant in grants_for(current_user, DASHBOARD_VIEW)]
        units = list({unit.id: unit for unit in units}.values())[:3]
        main = units[0] if units else None
        window = audit_reports.Window(utcnow() - timedelta(days=7), utcnow())
        return self.render(
            "admin/dashboard.html",
            counts=[(status_label(s), counts[s]) for s in STATUSES],
            total=sum(counts.values()),
            assignments=[(ROLE_LABELS.get(g.role, g.role), unit_name(g.unit_id))
                         for g in grants(current_user)],
            progress=targets.progress(units),
            board=targets.children_progress(main) if main and main.level != "zone" else [],
            chart=_chart(targets.daily(main)) if main else None,
            enrollers=audit_reports.signups_per_enroller(current_user, window, by="week",
                                                          limit=10, permission=MEMBER_VIEW)
            if main and main.level in ("district", "block") else [],
            days_left=targets.days_left())


def _chart(days):
    """An inline SVG bar chart (no script, prints and shows on any phone)."""
    top = max([max(r, v, a) for _d, r, v, a in days] + [1])
    bars = []
    for index, (day, recorded, verified, approved) in enumerate(days):
        x = index * 10
        for offset, value, css in ((0, recorded, "rec"), (3, verified, "ver"),
                                   (6, approved, "app")):
            height = round(80 * value / top, 1)
            bars.append((x + offset, 80 - height, height, css, day, value))
    return {"bars": bars, "width": len(days) * 10, "top": top,
            "first": days[0][0], "last": days[-1][0]}
