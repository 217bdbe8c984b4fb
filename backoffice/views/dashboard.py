"""The start page: what to do next (a new member, codes still to check, members to
approve), and where the viewer's units stand against their targets, day by day. Every
number is labelled and links to the list it counts."""

from __future__ import annotations

from datetime import timedelta

from flask import url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import func, select

from backoffice.auth.roles import (
    DASHBOARD_VIEW,
    MEMBER_APPROVE,
    MEMBER_CREATE,
    MEMBER_VERIFY,
    MEMBER_VIEW,
    ROLE_LABELS,
)
from backoffice.auth.scoping import grants, grants_for, has_permission, member_filter
from backoffice.extensions import db
from backoffice.models import STATUSES, Member, Unit, utcnow
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
            counts=[(status_label(s), counts[s], self._status_url(s)) for s in STATUSES],
            total=sum(counts.values()),
            counted=sum(counts[s] for s in targets.COUNTED),
            members_url=self._members_url(),
            next_steps=self._next_steps(),
            assignments=[(ROLE_LABELS.get(g.role, g.role), unit_name(g.unit_id))
                         for g in grants(current_user)],
            progress=targets.progress(units),
            board=targets.children_progress(main) if main and main.level != "zone" else [],
            chart=_chart(targets.daily(main)) if main else None,
            enrollers=audit_reports.signups_per_enroller(current_user, window, by="week",
                                                          limit=10, permission=MEMBER_VIEW)
            if main and main.level in ("district", "block") else [],
            days_left=targets.days_left())

    def _members_view(self):
        return next((view for view in self.admin._views
                     if getattr(view, "endpoint", None) == "members"), None)

    def _members_url(self) -> str | None:
        return url_for("members.index_view") if self._members_view() else None

    def _status_url(self, status: str) -> str | None:
        """The list a status count counts: the approval queue for members waiting for
        this user's approval, else the member list filtered by that status."""
        if status == "phone_verified" and has_permission(current_user, MEMBER_APPROVE):
            return url_for("queue.index_view")
        view = self._members_view()
        if view is None:
            return None
        for index, flt in enumerate(view._filters or ()):
            if getattr(flt, "column", None) is Member.status:
                return url_for("members.index_view",
                               **{f"flt0_{view.get_filter_arg(index, flt)}": status})
        return None

    def _next_steps(self) -> dict:
        """The buttons at the top: what this user's role does next."""
        steps = {"create": has_permission(current_user, MEMBER_CREATE)}
        if has_permission(current_user, MEMBER_VERIFY):
            steps["waiting"] = db.session.scalar(
                select(func.count()).select_from(Member).where(
                    member_filter(current_user, MEMBER_VERIFY),
                    Member.recorded_by_id == current_user.id, Member.status == "recorded",
                    Member.erased_at.is_(None)))
        if has_permission(current_user, MEMBER_APPROVE):
            steps["queue"] = stats.status_counts(current_user, MEMBER_APPROVE)["phone_verified"]
        return steps


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
