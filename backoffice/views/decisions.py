"""Approve, reject and revoke where the block president looks: the list actions, a
button on each queue row and on the member's page, the confirmation that names the
count, the reason form, and the undo offered after each decision.

Every path ends in services.workflow.apply or .undo, which re-check each id against
the actor's scope for that permission; ids posted from elsewhere are answered as not
found.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.helpers import get_redirect_target
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup, escape
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from backoffice.auth.roles import MEMBER_VIEW
from backoffice.auth.scoping import has_permission, member_filter, member_in_scope
from backoffice.extensions import db
from backoffice.models import Member, utcnow
from backoffice.services import workflow
from backoffice.services.errors import ServiceError
from backoffice.views.base import AdminForm
from backoffice.views.ids import id_or_404, ids_or_404

ACTION_LABELS = {
    "verify_phone": _l("Mark phone verified"),
    "approve": _l("Approve"),
    "reject": _l("Reject"),
    "revoke": _l("Revoke membership"),
}
UNDONE_LABELS = {
    "approve": _l("approval"),
    "reject": _l("rejection"),
    "revoke": _l("revocation"),
}
#: the session key of the last decision, for the undo offer (no ids: a time and a count)
UNDO_KEY = "last_decision"


class DecisionForm(AdminForm):
    action = HiddenField()
    ids = HiddenField()
    reason = TextAreaField(_l("Reason"), validators=[Length(max=workflow.MAX_REASON)])


class OneDecisionForm(AdminForm):
    """A button on a queue row or the member's page: one member, one action."""

    action = HiddenField()
    id = HiddenField()


class UndoForm(AdminForm):
    """Undo one member's decision (id) or one bulk decision (action and its time)."""

    id = HiddenField()
    action = HiddenField()
    at = HiddenField()


def report(outcome: workflow.Outcome, action_name: str) -> None:
    """Flash what happened, with each refusal's reason (grouped)."""
    if outcome.done:
        flash(ngettext("%(num)s member: %(action)s done.", "%(num)s members: %(action)s done.",
                       len(outcome.done), action=ACTION_LABELS[action_name]), "success")
    _report_refusals(outcome)


def _report_refusals(outcome: workflow.Outcome) -> None:
    by_message: dict[str, list[int]] = {}
    for member_id, message in outcome.refused.items():
        by_message.setdefault(str(message), []).append(member_id)
    for message, ids in by_message.items():
        flash(ngettext("%(num)s member not changed: %(reason)s",
                       "%(num)s members not changed: %(reason)s", len(ids), reason=message),
              "error")


def _remember(outcome: workflow.Outcome, action_name: str) -> None:
    """Offer the undo of this decision on the next pages (the session holds its time and
    count only; the undo finds the members again and checks each)."""
    if outcome.done and action_name in workflow.UNDOABLE and outcome.at is not None:
        session[UNDO_KEY] = {"user": current_user.id, "action": action_name,
                             "at": outcome.at.isoformat(), "n": len(outcome.done)}


def decide_cell(view, context, model, name):
    """A queue row's buttons: approve at once (undo follows), reject with a reason. The
    approve button submits the page's one decide-one form (no form per row)."""
    if context is None:  # exports: the status
        return model.status
    labels = g.get("_decide_labels")
    if labels is None:  # url_for and gettext once per page
        labels = g._decide_labels = (escape(_("Approve")), escape(_("Reject")),
                                     escape(view.get_url(".decide")))
    approve, reject, decide_url = labels
    member_id = int(model.id)
    return Markup(  # noqa: S704 - every value escaped above or an int
        f'<button type="submit" form="decide-one" name="id" value="{member_id}" '
        f'class="btn btn-success btn-sm mb-1">{approve}</button> '
        f'<a class="btn btn-outline-danger btn-sm mb-1" '
        f'href="{decide_url}?action=reject&amp;ids={member_id}">{reject}</a>')


class DecisionsMixin:
    """Actions, buttons, the confirmation and reason form, and undo, for member views."""

    def is_action_allowed(self, name: str) -> bool:
        transition = workflow.TRANSITIONS.get(name)
        if transition is None:
            return super().is_action_allowed(name)
        return has_permission(current_user, transition.permission)

    def _run(self, name: str, ids):
        """A bulk decision from "with selected": always confirmed on the next page,
        which names the count (and asks the reason where one is needed)."""
        return redirect(url_for(".decide", action=name, ids=",".join(ids)))

    @action("approve", _l("Approve"))
    def action_approve(self, ids):
        return self._run("approve", ids)

    @action("reject", _l("Reject"))
    def action_reject(self, ids):
        return self._run("reject", ids)

    @action("revoke", _l("Revoke membership"))
    def action_revoke(self, ids):
        return self._run("revoke", ids)

    def _back(self):
        return get_redirect_target() or url_for(".index_view")

    @expose("/decide/", methods=["GET", "POST"])
    def decide(self):
        """Confirm a decision on the members listed, naming their count, with the reason a
        rejection or revocation needs; then apply it."""
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
                form.reason.errors = [str(error.message)]
            else:
                db.session.commit()
                report(outcome, name)
                _remember(outcome, name)
                return redirect(url_for(".index_view"))
        members = db.session.query(Member).filter(
            Member.id.in_(ids), member_filter(current_user, MEMBER_VIEW)).limit(
            workflow.MAX_BATCH).all()
        return self.render("admin/decide.html", form=form, members=members, action=name,
                           action_label=ACTION_LABELS[name],
                           reason_required=workflow.TRANSITIONS[name].reason_required)

    @expose("/decide-one/", methods=["POST"])
    def decide_one(self):
        """One member's button: approve at once (the undo is offered next); a step that
        needs a reason goes to the reason form."""
        form = OneDecisionForm(request.form)
        if not form.validate():
            flash(_("The form had expired: try again."), "error")
            return redirect(self._back())
        name = form.action.data or "approve"
        member_id = id_or_404(form.id.data)
        if name not in workflow.TRANSITIONS or not has_permission(
                current_user, workflow.TRANSITIONS[name].permission):
            flash(_("This action is not allowed here."), "error")
            return redirect(self._back())
        if workflow.TRANSITIONS[name].reason_required:
            return redirect(url_for(".decide", action=name, ids=member_id))
        outcome = workflow.apply(current_user, name, [member_id])
        db.session.commit()
        report(outcome, name)
        _remember(outcome, name)
        return redirect(self._back())

    @expose("/undo/", methods=["POST"])
    def undo(self):
        """Take back one's own recent decision: a member's (id) or a bulk one (action,
        at); the service checks each member again."""
        form = UndoForm(request.form)
        if not form.validate():
            flash(_("The form had expired: try again."), "error")
            return redirect(self._back())
        if form.id.data:
            ids = [id_or_404(form.id.data)]
        else:
            ids = workflow.decided_together(current_user, form.action.data,
                                            _parse_time(form.at.data))
        session.pop(UNDO_KEY, None)
        if not ids:
            flash(_("Nothing to undo: the time for it has passed, or the member has "
                    "changed since."), "error")
            return redirect(self._back())
        try:
            outcome = workflow.undo(current_user, ids)
        except ServiceError as error:
            flash(str(error.message), "error")
            return redirect(self._back())
        db.session.commit()
        if outcome.done:
            flash(ngettext("%(num)s member: the decision is undone.",
                           "%(num)s members: the decision is undone.", len(outcome.done)),
                  "success")
        _report_refusals(outcome)
        return redirect(self._back())

    def undo_offer(self):
        """The last decision this user may still undo, for the page's undo button: a dict
        (label, count, action, at, seconds left) or None. Built per request."""
        offer = session.get(UNDO_KEY)
        if not offer or offer.get("user") != getattr(current_user, "id", None):
            return None
        at = _parse_time(offer.get("at"))
        left = 0 if at is None else int(
            (at - workflow.undo_window(utcnow())).total_seconds())
        if left <= 0 or offer.get("action") not in workflow.UNDOABLE:
            return None
        return {"label": UNDONE_LABELS[offer["action"]], "n": offer.get("n", 0),
                "action": offer["action"], "at": offer["at"], "left": left}

    def member_decisions(self, member):
        """What this user may do to this member from the member's page: the decisions
        the state allows within their scope, and the undo of their own last one."""
        buttons = []
        for name in ("approve", "reject", "revoke"):
            transition = workflow.TRANSITIONS[name]
            allowed = member.status in transition.sources or (
                name == "approve" and member.status == "recorded"
                and member.channel == "paper" and _paper_evidence())
            if allowed and member.erased_at is None and member_in_scope(
                    current_user, transition.permission, member):
                buttons.append((name, ACTION_LABELS[name], transition.reason_required))
        undoable = workflow.undoable_decision(current_user, member)
        return {"buttons": buttons,
                "undo": UNDONE_LABELS[undoable] if undoable else None}


def _paper_evidence() -> bool:
    return current_app.config["PAPER_APPROVAL"] == "paper_evidence"


def _parse_time(text) -> datetime | None:
    """A decision's time as the session or the undo form carries it (naive UTC), or None."""
    try:
        at = datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None
    return at if at is None or at.tzinfo is None else None
