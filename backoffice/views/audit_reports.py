"""Audit reports for district heads, with a drill-down to the members behind each row."""

from __future__ import annotations

from flask import current_app, request
from flask_admin import expose
from flask_login import current_user

from backoffice.auth.roles import AUDIT_VIEW, MEMBER_VIEW_PII
from backoffice.auth.scoping import has_permission
from backoffice.models import utcnow
from backoffice.services import audit_reports as reports
from backoffice.services import referrals
from backoffice.services.membership_numbers import format_membership_no
from backoffice.services.privacy import mask_phone
from backoffice.views.base import SecureView
from backoffice.views.formatting import status_label, unit_name
from backoffice.views.ids import id_or_404


def ist_bucket(text: str | None) -> str:
    """A report's IST bucket as the app shows times: '2026-11-30 01:00' reads
    30/11/2026 01:00, '2026-11-30' reads 30/11/2026 (the database already moved it
    to IST: no offset added here)."""
    day, _space, hour = (text or "").partition(" ")
    year, _dash, rest = day.partition("-")
    month, _dash, date = rest.partition("-")
    return " ".join(part for part in (f"{date}/{month}/{year}" if date else day, hour) if part)


def _window() -> reports.Window:
    try:
        days = int(request.args.get("days", ""))
    except ValueError:
        days = current_app.config["AUDIT_REPORT_DAYS"]
    return reports.Window.last_days(min(max(days, 1), 92), utcnow())


class AuditReportsView(SecureView):
    permission = AUDIT_VIEW

    @expose("/")
    def index(self):
        config, window = current_app.config, _window()
        show_phone = (lambda phone: phone) if has_permission(current_user, MEMBER_VIEW_PII) \
            else mask_phone
        return self.render(
            "admin/audit_reports.html", days=(window.until - window.since).days,
            per_day=reports.signups_per_enroller(current_user, window, by="day", limit=20),
            bursts=reports.odd_hour_bursts(current_user, window,
                                           min_signups=config["AUDIT_BURST_MIN_SIGNUPS"],
                                           night=config["AUDIT_NIGHT_HOURS"]),
            phones=reports.shared_phones(current_user, window,
                                         min_members=config["AUDIT_SHARED_PHONE_MIN"]),
            runs=reports.consecutive_phone_runs(current_user, window,
                                                min_run=config["AUDIT_PHONE_RUN_MIN"]),
            epics=reports.epic_duplicate_attempts(current_user, window),
            duplicates=reports.possible_duplicates(current_user, window),
            unit_name=unit_name,
            otp=reports.otp_outcomes(current_user, window, limit=50),
            reused=reports.reused_photos(current_user, window),
            referred=referrals.referred_from_one_source(
                current_user, AUDIT_VIEW, since=window.since, until=window.until,
                min_phone=config["AUDIT_REFERRAL_PHONE_MIN"],
                min_address=config["AUDIT_REFERRAL_ADDRESS_MIN"]),
            number=format_membership_no, show_phone=show_phone, bucket=ist_bucket)

    @expose("/members/")
    def members(self):
        window = _window()
        enroller = request.args.get("enroller", "")
        members = reports.members_for(
            current_user, window,
            enroller_id=id_or_404(enroller) if enroller else None,
            mobile=request.args.get("mobile") or None,
            photo=request.args.get("photo") or None)
        return self.render("admin/audit_report_members.html", members=members,
                           number=format_membership_no, status_label=status_label,
                           show_phone=mask_phone
                           if not has_permission(current_user, MEMBER_VIEW_PII) else str)
