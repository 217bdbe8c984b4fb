"""The member list and details, scoped to the user's units."""

from __future__ import annotations

from flask import current_app, g, request
from flask_admin.contrib.sqla.filters import DateTimeBetweenFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import and_, func, select
from sqlalchemy.orm import load_only

from backoffice.auth.roles import MEMBER_APPROVE, MEMBER_VIEW, MEMBER_VIEW_PII
from backoffice.auth.scoping import has_permission, member_filter, scoped_units
from backoffice.extensions import db
from backoffice.models import CHANNELS, STATUSES, Member
from backoffice.services import erasure
from backoffice.services.membership_numbers import format_membership_no
from backoffice.services.privacy import mask_epic, mask_phone
from backoffice.services.search import duplicates_for, member_search, sees_phone_tails
from backoffice.services.stats import status_counts
from backoffice.views.audit import member_history, staff_name
from backoffice.views.base import ScopedModelView
from backoffice.views.decisions import DecisionsMixin, decide_cell
from backoffice.views.erasure import ErasureMixin
from backoffice.views.exports import AuditedExportMixin
from backoffice.views.filters import OptionFilter
from backoffice.views.formatting import (
    channel_label,
    date_column,
    label_column,
    status_column,
    status_label,
    unit_column,
)
from backoffice.views.member_forms import MemberFormMixin
from backoffice.views.photos import PhotoMixin, photo_cell
from backoffice.views.verify import VerifyMixin


def scoped_block_options():
    """The viewer's blocks, built per request (see ScopedModelView._get_filter_groups)."""
    if not getattr(current_user, "is_authenticated", False):  # start-up: nobody
        return []
    blocks = db.session.scalars(scoped_units(current_user, MEMBER_VIEW, levels=["block"]))
    return [(str(block.id), str(block)) for block in blocks]


def _membership_no(view, context, model, name):
    """The number, as the link to the member: one big tap target on a phone, and
    cheaper to draw than Flask-Admin's three icons per row."""
    number = format_membership_no(model.id)
    if context is None:  # exports and the details page: the number only
        return number
    base = g.get("_details_url")
    if base is None:  # url_for once per page, not once per row
        base = g._details_url = view.get_url(".details_view")
    # Markup.format would cost more than the rest of the row: escape() the two values
    return Markup(f'<a href="{escape(base)}?id={int(model.id)}">{escape(number)}</a>')  # noqa: S704


def _prefix() -> str:
    return current_app.config["MEMBERSHIP_PREFIX"]


def _name(view, context, model, name):
    return _("(personal data erased)") if model.erased_at else model.full_name


def _birth_date(view, context, model, name):
    return "" if model.erased_at else date_column(view, context, model, name)


def _pii(masker):
    def format_pii(view, context, model, name):
        value = getattr(model, name)
        if "_sees_pii" not in g:
            g._sees_pii = has_permission(current_user, MEMBER_VIEW_PII)
        return value if g._sees_pii else masker(value)

    return format_pii


class MemberView(AuditedExportMixin, VerifyMixin, MemberFormMixin, DecisionsMixin,
                 ErasureMixin, PhotoMixin, ScopedModelView):
    permission = MEMBER_VIEW
    export_noun = "member"
    can_view_details = True
    column_display_actions = False  # the membership number links to the member
    column_list = (
        "id", "full_name", "relative_name", "block_id", "booth_no", "mobile", "status",
        "channel", "created_at",
    )
    column_details_list = (
        "id", "full_name", "relative_name", "relation", "gender", "date_of_birth", "mobile",
        "epic", "address", "booth_no", "division_id", "district_id", "block_id", "zone_id",
        "fee_receipt_no", "consent_notice_version", "channel", "status", "status_reason",
        "recorded_by", "created_at", "verified_by", "verified_at", "approved_by", "approved_at",
        "rejected_by", "rejected_at", "revoked_by", "revoked_at", "erased_at",
    )
    column_labels = {
        "id": _l("Membership no."),
        "full_name": _l("Name"),
        "relative_name": _l("Father's / husband's name"),
        "relation": _l("Relation"),
        "gender": _l("Gender"),
        "date_of_birth": _l("Date of birth"),
        "mobile": _l("Mobile"),
        "epic": _l("Voter ID (EPIC)"),
        "address": _l("Address"),
        "booth_no": _l("Booth"),
        "division_id": _l("Division"),
        "district_id": _l("District"),
        "block_id": _l("Block"),
        "zone_id": _l("Zone"),
        "fee_receipt_no": _l("Fee receipt"),
        "consent_notice_version": _l("Privacy notice version"),
        "channel": _l("Recorded via"),
        "status": _l("Status"),
        "status_reason": _l("Reason"),
        "recorded_by": _l("Recorded by"),
        "created_at": _l("Recorded on"),
        "verified_by": _l("Phone verified by"),
        "verified_at": _l("Phone verified on"),
        "approved_by": _l("Approved by"),
        "approved_at": _l("Approved on"),
        "rejected_by": _l("Rejected by"),
        "rejected_at": _l("Rejected on"),
        "revoked_by": _l("Revoked by"),
        "revoked_at": _l("Revoked on"),
        "erased_at": _l("Personal data erased on"),
        "photo_sha256": _l("Photo"),
    }
    column_formatters = {
        "id": _membership_no,
        "full_name": _name,
        "mobile": _pii(mask_phone),
        "epic": _pii(mask_epic),
        "status": status_column,
        "channel": label_column("channel"),
        "relation": label_column("relation"),
        "gender": label_column("gender"),
        "division_id": unit_column("division_id"),
        "district_id": unit_column("district_id"),
        "block_id": unit_column("block_id"),
        "zone_id": unit_column("zone_id"),
        "created_at": date_column,
        "verified_at": date_column,
        "approved_at": date_column,
        "rejected_at": date_column,
        "revoked_at": date_column,
        "erased_at": date_column,
        "date_of_birth": _birth_date,
    }
    column_formatters_detail = column_formatters | {
        "id": lambda v, c, m, n: format_membership_no(m.id)}
    column_default_sort = ("id", True)
    column_sortable_list = ("id",)
    # Search is handled by _apply_search below; the list only switches it on.
    column_searchable_list = ("full_name",)

    column_filters = (
        OptionFilter(Member.status, _l("Status"),
                     options=lambda: [(s, status_label(s)) for s in STATUSES]),
        OptionFilter(Member.channel, _l("Recorded via"),
                     options=lambda: [(c, channel_label(c)) for c in CHANNELS]),
        OptionFilter(Member.block_id, _l("Block"), options=lambda: scoped_block_options()),
        DateTimeBetweenFilter(Member.created_at, _l("Recorded between")),
    )
    column_export_list = (
        "id", "full_name", "relative_name", "gender", "date_of_birth", "mobile", "epic",
        "district_id", "block_id", "zone_id", "booth_no", "status", "channel", "created_at",
    )
    column_formatters_export = column_formatters
    column_list_reads = ("erased_at",)  # _name and _birth_date tell an erased member

    @property
    def can_export(self):
        return has_permission(current_user, MEMBER_VIEW_PII)

    details_template = "admin/member_details.html"

    def scope_filter(self):
        return member_filter(current_user, MEMBER_VIEW)

    def count_from_counters(self):
        """The unfiltered list's count from the trigger-kept tallies: a few hundred
        rows summed, not up to 10,001 index entries walked, on every page view."""
        return sum(status_counts(current_user, MEMBER_VIEW).values())

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            model = kwargs["model"]
            kwargs["history"] = member_history(model.id)
            kwargs["duplicates"] = duplicates_for(current_user, model)
            kwargs["number"] = format_membership_no
            kwargs["staff_name"] = staff_name
            kwargs["may_erase"] = (model.erased_at is None and self.can_erase()
                                   and erasure.member_to_erase(current_user, model.id)
                                   is not None)
        return super().render(template, **kwargs)

    def search_placeholder(self):
        return _("Name, mobile, voter ID or membership no.")

    def get_empty_list_message(self):
        """After a search that found no one: what a search can find."""
        if not request.args.get("search"):
            return super().get_empty_list_message()
        if sees_phone_tails(current_user):
            return _("No member found. Search finds a member by any word of the name as it "
                     "begins, in Hindi or English letters (Kamla finds कमला), by mobile number "
                     "or its last 4 or more digits, by voter ID, or by membership number with "
                     "or without %(prefix)s and the zeros.", prefix=_prefix())
        return _("No member found. Search finds a member by any word of the name as it begins, "
                 "in Hindi or English letters (Kamla finds कमला), by full mobile number, by "
                 "voter ID, or by membership number with or without %(prefix)s and the zeros.",
                 prefix=_prefix())

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Name words by their phonetic key, numbers by index: services/search.py."""
        clause = member_search(current_user, search)
        query = query.filter(clause)
        if count_query is not None:
            count_query = count_query.filter(clause)
        return query, count_query, joins, count_joins

    def _get_page(self, page, sort_column, sort_desc, search, filters, execute, page_size):
        """A searched page in one statement: the matches (at most count_bound + 1 ids, read
        once from the search's index) as a CTE that gives both the page's ids and their
        count, instead of a bounded count and then a page query that reads the same
        matches again (or walks the scope's list index backward, when PostgreSQL guesses a
        short word common). Past count_bound matches, the ids kept are not the first in
        order: the stock count and page then. Sorted or filtered lists: the stock too."""
        column, descending = self.column_default_sort
        if not (execute and search and sort_column is None and not filters
                and column == "id"):
            return super()._get_page(page, sort_column, sort_desc, search, filters,
                                     execute, page_size)
        size = page_size or self.page_size
        hits = (self.get_query().filter(member_search(current_user, search))
                .with_entities(Member.id.label("id")).limit(self.count_bound + 1)
                .cte("hits"))
        shown = (select(hits.c.id).order_by(hits.c.id.desc() if descending else hits.c.id)
                 .limit(size).offset(page * size))
        found = select(func.count()).select_from(hits).scalar_subquery()
        query = (db.session.query(Member, found.label("found"))
                 .filter(Member.id.in_(shown))
                 .order_by(Member.id.desc() if descending else Member.id))
        columns = self._read_columns()
        if columns:
            query = query.options(load_only(*columns, raiseload=True))
        rows = query.all()
        if rows:
            count = rows[0].found
        elif page:  # past the last page: get_list wants the count to show that one
            count = db.session.scalar(select(func.count()).select_from(hits))
        else:
            count = 0
        if count > self.count_bound:
            return super()._get_page(page, sort_column, sort_desc, search, filters,
                                     execute, page_size)
        return count, [row.Member for row in rows]



class ApprovalQueueView(MemberView):
    """Members whose phone is verified and who wait for the block president, oldest first."""

    permission = MEMBER_APPROVE
    can_create = False
    column_default_sort = ("id", False)
    # The photo beside each row, and beside it the approve and reject buttons (in the
    # status column: every row here waits for approval): the block president sees whom
    # they decide on.
    column_list = ("id", "photo_sha256", "status",
                   *(c for c in MemberView.column_list[1:] if c != "status"))
    column_formatters = MemberView.column_formatters | {"photo_sha256": photo_cell,
                                                        "status": decide_cell}
    column_labels = MemberView.column_labels | {"status": _l("Decision")}
    list_template = "admin/queue_list.html"

    def scope_filter(self):
        return and_(member_filter(current_user, MEMBER_APPROVE),
                    Member.status == "phone_verified")

    def count_from_counters(self):
        return status_counts(current_user, MEMBER_APPROVE)["phone_verified"]
