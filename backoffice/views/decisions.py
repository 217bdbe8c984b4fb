"""Approve, reject, verify and revoke: the list actions, the reason form, the queue.

Every path ends in services.workflow.apply, which re-checks each id against
the actor's scope for that permission; ids posted from elsewhere are
answered as not found.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from backoffice.auth.roles import MEMBER_VIEW
from backoffice.auth.scoping import has_permission, member_filter
from backoffice.extensions import db
from backoffice.models import Member
from backoffice.services import workflow
from backoffice.services.errors import ServiceError
from backoffice.views.base import AdminForm, ids_or_404

ACTION_LABELS = {
    "verify_phone": _l("Mark phone verified"),
    "approve": _l("Approve"),
    "reject": _l("Reject"),
    "revoke": _l("Revoke membership"),
}


class DecisionForm(AdminForm):
    action = HiddenField()
    ids = HiddenField()
    reason = TextAreaField(_l("Reason"), validators=[Length(max=workflow.MAX_REASON)])


def report(outcome: workflow.Outcome, action_name: str) -> None:
    """Flash what happened, with each refusal's reason (grouped)."""
    if outcome.done:
        flash(ngettext("%(num)s member: %(action)s done.", "%(num)s members: %(action)s done.",
                       len(outcome.done), action=ACTION_LABELS[action_name]), "success")
    by_message: dict[str, list[int]] = {}
    for member_id, message in outcome.refused.items():
        by_message.setdefault(str(message), []).append(member_id)
    for message, ids in by_message.items():
        flash(ngettext("%(num)s member not changed: %(reason)s",
                       "%(num)s members not changed: %(reason)s", len(ids), reason=message),
              "error")


class DecisionsMixin:
    """Actions and the reason form, for views listing members."""

    def is_action_allowed(self, name: str) -> bool:
        transition = workflow.TRANSITIONS.get(name)
        if transition is None:
            return super().is_action_allowed(name)
        return has_permission(current_user, transition.permission)

    def _run(self, name: str, ids):
        if workflow.TRANSITIONS[name].reason_required:
            return redirect(url_for(".decide", action=name, ids=",".join(ids)))
        try:
            outcome = workflow.apply(current_user, name, ids)
        except ServiceError as error:
            flash(str(error.message), "error")
            return None
        db.session.commit()
        report(outcome, name)
        return None

    @action("approve", _l("Approve"))
    def action_approve(self, ids):
        return self._run("approve", ids)

    @action("reject", _l("Reject"))
    def action_reject(self, ids):
        return self._run("reject", ids)

    @action("revoke", _l("Revoke membership"))
    def action_revoke(self, ids):
        return self._run("revoke", ids)

    @expose("/decide/", methods=["GET", "POST"])
    def decide(self):
        """Ask for the reason a rejection or revocation needs, then apply it."""
        form = DecisionForm(request.form if request.method == "POST" else None,
                            action=request.args.get("action"), ids=request.args.get("ids"))
        name = form.action.data
        if name not in workflow.TRANSITIONS or not has_permission(
                current_user, workflow.TRANSITIONS[name].permission):
            flash(_("This action is not allowed here."), "error")
            return redirect(url_for(".index_view"))
        # one past the limit, so that too many is refused with its reason, not cut short
        ids = (ids_or_404(form.ids.data.split(",")) if form.ids.data else [])[
            :workflow.MAX_BATCH + 1]
        if request.method == "POST" and form.validate():
            try:
                outcome = workflow.apply(current_user, name, ids, form.reason.data)
            except ServiceError as error:
                form.reason.errors = [error.message]
            else:
                db.session.commit()
                report(outcome, name)
                return redirect(url_for(".index_view"))
        members = db.session.query(Member).filter(
            Member.id.in_(ids), member_filter(current_user, MEMBER_VIEW)).all()
        return self.render("admin/decide.html", form=form, members=members,
                           action_label=ACTION_LABELS[name])
