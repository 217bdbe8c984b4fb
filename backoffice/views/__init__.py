"""Flask-Admin wiring. Admin is built per app, so every test app gets fresh views."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from backoffice.models import AuditEvent, Member, RoleAssignment, Roll, StaffUser, Unit
from backoffice.security import csp_nonce
from backoffice.sms.outbox import enabled as outbox_enabled
from backoffice.views import form_fields, menu, page_parts
from backoffice.views.audit import AuditEventView
from backoffice.views.audit_reports import AuditReportsView
from backoffice.views.dashboard import DashboardView
from backoffice.views.imports import ImportView
from backoffice.views.members import ApprovalQueueView, MemberView
from backoffice.views.outbox import OutboxView
from backoffice.views.referrals import RecruitersView
from backoffice.views.roles import RoleAssignmentView
from backoffice.views.rolls import ClaimsView, RollView
from backoffice.views.staff import StaffView
from backoffice.views.targets import TargetView
from backoffice.views.units import UnitView

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def init_admin(app: Flask) -> Admin:
    admin = Admin(
        app,
        name=_l("Sadasya · membership drive"),  # not "सदस्य" alone: the Members menu item
        theme=Bootstrap4Theme(swatch="default", fluid=True),
        index_view=DashboardView(name=_l("Dashboard"), url="/admin"),
        translations_path=str(TRANSLATIONS),
        csp_nonce_generator=csp_nonce,  # the page's nonce on Flask-Admin's script tags
    )
    admin.add_view(MemberView(Member, name=_l("Members"), endpoint="members"))
    admin.add_view(ApprovalQueueView(Member, name=_l("Awaiting approval"), endpoint="queue"))
    admin.add_view(StaffView(StaffUser, name=_l("Staff"), endpoint="staff"))
    admin.add_view(RoleAssignmentView(RoleAssignment, name=_l("Roles"), endpoint="roles"))
    admin.add_view(UnitView(Unit, name=_l("Units"), endpoint="units"))
    admin.add_view(AuditEventView(AuditEvent, name=_l("Audit log"), endpoint="audit"))
    admin.add_view(AuditReportsView(name=_l("Audit reports"), endpoint="audit_reports"))
    admin.add_view(ImportView(name=_l("Paper imports"), endpoint="imports"))
    admin.add_view(TargetView(name=_l("Targets"), endpoint="targets"))
    admin.add_view(RollView(Roll, name=_l("Rolls"), endpoint="rolls"))
    admin.add_view(ClaimsView(name=_l("Claims and objections"), endpoint="claims"))
    admin.add_view(RecruitersView(name=_l("Recruiters"), endpoint="recruiters"))
    if outbox_enabled(app):  # a demo's codes: debug mode only
        admin.add_view(OutboxView())
    menu.init_app(app)
    form_fields.init_app(app)
    page_parts.init_app(app)
    return admin
