"""The secure, scoped base for every admin view.

Flask-Admin views are open by default and ModelView's get_one ignores
get_query (docs/flask-admin-scoping.md). Every view here inherits
SecureView's access check; every model view inherits ScopedModelView, which
routes list, count and single-row reads through one scoped query built by
backoffice.auth.scoping.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView
from flask_admin.actions import action
from flask_admin.babel import gettext as admin_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.model import typefmt
from flask_admin.model.base import FilterGroup
from flask_admin.tools import rec_getattr
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2 import pass_context
from markupsafe import Markup, escape
from sqlalchemy import BigInteger, ColumnElement, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Query, load_only
from wtforms.fields.choices import SelectChoice

from backoffice.auth import second_factor
from backoffice.auth.roles import DASHBOARD_VIEW
from backoffice.auth.scoping import has_permission
from backoffice.extensions import db
from backoffice.i18n import indian_number, short_date
from backoffice.services.errors import ServiceError
from backoffice.services.exports import safe_cell
from backoffice.views.ids import BIGINT_MAX, INT_MAX, ids_or_404, parse_id


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 wants them (tuples are deprecated)."""
    return [SelectChoice(value, label) for value, label in pairs]


class AdminForm(FlaskForm):
    """Flask-WTF form base for admin forms: a CSRF token on every form, and
    WTForms messages from the app's catalogs (Flask-Admin's own lookup finds
    no Hindi ones)."""

    def __init__(self, formdata=None, obj=None, prefix="", **kwargs):
        self._obj = obj
        super().__init__(formdata=formdata, obj=obj, prefix=prefix, **kwargs)


def save_through(write):
    """Run a service write for a form: commit what it did and return its result, or
    roll back and flash its message (in the user's language) and return False,
    which Flask-Admin takes as "show the form again"."""
    try:
        result = write()
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return False
    except IntegrityError:  # a unique or foreign key the write's own checks did not catch
        db.session.rollback()
        flash(_("This clashes with a record already saved (a code, number or name in use). "
                "Change it and save again."), "error")
        return False
    return result


#: the most rows one list action ("with selected") takes
MAX_ACTION_ROWS = 500


class BoundedCountQuery(Query):
    """A count query whose scalar() stops counting past ScopedModelView.count_bound.

    Flask-Admin adds search and filters to the count query with .filter() and
    then calls .scalar(); counting ``SELECT id ... LIMIT bound+1`` keeps that
    cost fixed however large the table grows.
    """

    bound = 10_000
    #: a callable giving the exact count of the query as first built (the scope
    #: alone) from counters, or None; any filter or join added later drops it
    counter = None

    def _generate(self):
        query = super()._generate()
        query.counter = None  # a search or filter was added: count the rows
        return query

    def scalar(self):
        if self.counter is not None:
            counted = self.counter()
            if counted is not None:
                return min(counted, self.bound + 1)
        inner = self.limit(self.bound + 1).subquery()  # selects the id: index-only
        return self.session.query(func.count()).select_from(inner).scalar()


def _when(view, value, name) -> str:
    return short_date(value)


def _yes_no(view, value, name) -> Markup:
    """Flask-Admin's tick or dash, titled in the user's language (its own says
    "name: true")."""
    icon, title = ("fa-check-circle", _("Yes")) if value else ("fa-minus-circle", _("No"))
    return Markup('<span class="fa {}" title="{}"></span>').format(icon, title)


def _type_formatters(base, extra=None) -> dict:
    """Flask-Admin's formatters with dates and times as people here read them: in
    IST as dd/mm/yyyy HH:MM (datetime first: a datetime is a date too)."""
    return {datetime: _when, date: _when} | dict(base) | (extra or {})


#: every admin list, details page and export: no "2026-11-30 05:09:39" in UTC
LIST_TYPE_FORMATTERS = _type_formatters(typefmt.BASE_FORMATTERS, {bool: _yes_no})
DETAIL_TYPE_FORMATTERS = _type_formatters(typefmt.DETAIL_FORMATTERS, {bool: _yes_no})
EXPORT_TYPE_FORMATTERS = _type_formatters(typefmt.EXPORT_FORMATTERS)

_CHECKBOX_OPEN = '<td><input type="checkbox" name="rowid" class="action-checkbox" value="'
_CHECKBOX_TITLE = '" title="'
_CHECKBOX_CLOSE = '" /></td>'
_CELL_CLOSE = "</td>"


_SIGNED_IN = object()  # the key, in flask.g's decisions, of what every permission needs first


class SecureMixin:
    """Logged-in staff holding ``permission`` somewhere; others are refused."""

    permission: str = DASHBOARD_VIEW

    def is_accessible(self) -> bool:
        """Decided once per request and permission (kept in flask.g, never on the shared
        view): Flask-Admin asks again for every entry of the menu on every page, and
        many entries ask for the same permission."""
        decided = g.setdefault("_accessible", {})
        if self.permission not in decided:
            if _SIGNED_IN not in decided:  # a user, past the second step if they need it
                decided[_SIGNED_IN] = bool(current_user.is_authenticated
                                           and second_factor.satisfied(current_user))
            decided[self.permission] = decided[_SIGNED_IN] and has_permission(
                current_user, self.permission)
        return decided[self.permission]

    def inaccessible_callback(self, name, **kwargs):
        here = request.full_path.rstrip("?")
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=here))
        if not second_factor.satisfied(current_user):
            return redirect(url_for("account.second_factor", next=here))
        abort(403)


class SecureIndexView(SecureMixin, AdminIndexView):
    pass


class SecureView(SecureMixin, BaseView):
    pass


class ScopedModelView(SecureMixin, ModelView):
    """A ModelView whose every read goes through ``scope_filter()``.

    Subclasses return the SQL filter of the rows the current user may see.
    Writes are off until a subclass turns them on and checks its unit
    references server-side (on_model_change).
    """

    form_base_class = AdminForm
    list_template = "admin/scoped_list.html"
    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    can_set_page_size = False
    page_size = 50
    fast_mass_delete = False  # would skip delete hooks and the audit log
    column_type_formatters = LIST_TYPE_FORMATTERS
    column_type_formatters_detail = DETAIL_TYPE_FORMATTERS
    column_type_formatters_export = EXPORT_TYPE_FORMATTERS

    # Lists count and page at most count_bound rows: a state-wide user never pays
    # for count(*) over a million members, nor for a deep OFFSET. Exports take every
    # row in scope, streamed (export_rows).
    count_bound = 10_000
    export_max_rows = 0  # Flask-Admin's "no limit"
    #: rows fetched per round trip by an export (a server-side cursor on PostgreSQL)
    export_batch = 2000

    def __init__(self, model, **kwargs):
        super().__init__(model, db, **kwargs)
        # Derived from the view's configuration alone, once: the view serves every
        # user and thread, so nothing is assigned on it while a request runs.
        self._read = self._read_plan()
        self._cells = self._cell_plan()
        self._export_cells = self._export_plan()
        self._formatter_for_type = {}  # type -> formatter: the same for every user

    @property
    def key(self):
        """The model's (single) primary key column: id, or seq for audit events."""
        return getattr(self.model, self._primary_key)

    def scope_filter(self) -> ColumnElement[bool]:
        raise NotImplementedError

    def _get_filter_groups(self):
        """The filter groups with their option lists built for the current user, and
        returned: Flask-Admin builds them once, at start-up, for nobody, and keeps
        them on the view, which every user and thread shares (docs/flask-admin-scoping.md).
        What is read here (the filters and their URL arguments) is fixed at start-up."""
        if not self._filters:
            return None
        groups: dict[str, FilterGroup] = {}
        for index, flt in enumerate(self._filters):
            group = groups.setdefault(str(flt.name), FilterGroup(flt.name))
            group.append({"index": index, "arg": self.get_filter_arg(index, flt),
                          "operation": flt.operation(), "options": flt.get_options(self) or None,
                          "type": flt.data_type})
        return dict(group.non_lazy() for group in groups.values())

    def render(self, template, **kwargs):
        """The list tab's count as people read numbers here (1,234), and past the
        bound as "10,000+", not as the 10,001 the bounded count stops at."""
        count = kwargs.get("count")
        if template == self.list_template and isinstance(count, int) and count:
            kwargs["count"] = (_("%(number)s+", number=indian_number(self.count_bound))
                               if count > self.count_bound else indian_number(count))
        return super().render(template, **kwargs)

    def get_export_value(self, model, name):
        return safe_cell(super().get_export_value(model, name))

    def export_rows(self):
        """The list's bounded count (at most count_bound + 1), and every row in scope
        that the list's search, filters and sort select, streamed in batches of
        export_batch: neither the rows nor the file are ever held whole.

        The rows are plain result rows of the columns the export reads, not model
        objects: the formatters read attributes, which rows have, and a million
        rows load several times faster so."""
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        count, query = super().get_list(0, sort[0] if sort else None, view_args.sort_desc,
                                         view_args.search, view_args.filters, execute=False,
                                         page_size=0)
        columns = self._read_columns()
        if columns:
            query = query.with_entities(*columns)
        return count, query.yield_per(self.export_batch)

    def export_cells(self, row) -> list:
        """One exported row's cells, as get_export_value gives them (the export
        formatter, else the value; then the column's choices, else the export type
        formatter), with each column's plan resolved once per export rather than
        per cell: at a million rows the lookups cost more than the values."""
        cells = []
        for column, formatter, choices in self._export_cells:
            value = formatter(self, None, row, column) if formatter is not None \
                else getattr(row, column, None)
            if choices:
                value = choices.get(value) or value
            else:
                value = self._type_format(value, column, self.column_type_formatters_export)
            cells.append(value)
        return cells

    def _export_plan(self):
        """Per exported column, resolved once: its export formatter (a dotted path,
        which only rec_getattr reads, gets one that calls it) and choices."""
        def dotted(view, context, model, name):
            return rec_getattr(model, name)

        return [(column, self.column_formatters_export.get(column) or (
                    dotted if "." in column else None), self._column_choices_map.get(column))
                for column, _label in self._export_columns]

    def get_query(self):
        return super().get_query().filter(self.scope_filter())

    def get_count_query(self):
        query = BoundedCountQuery([self.key], session=db.session()).filter(
            self.scope_filter())
        query.counter = self.count_from_counters
        return query

    def count_from_counters(self) -> int | None:
        """The exact number of rows scope_filter() selects, from counters the
        database keeps, or None to count rows (at most count_bound + 1)."""
        return None

    def _apply_pagination(self, query, page, page_size):
        """Deep pages as a deferred join: OFFSET walks the index over ids only, then
        the page's rows are fetched by primary key (benchmarks/README.md: the
        district's page 200 at 1M members went from 15.8 to 2.8 ms in the database)."""
        if not page:
            return super()._apply_pagination(query, page, page_size)
        window = (super()._apply_pagination(query, page, page_size)
                  .with_entities(self.key.label("key")).subquery())
        return query.filter(self.key.in_(select(window.c.key))).limit(
            page_size or self.page_size)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        size = page_size or self.page_size
        page = max(min(page or 0, self.count_bound // size - 1), 0)  # ?page=-3 too
        count, rows = self._get_page(page, sort_column, sort_desc, search, filters,
                                     execute, page_size)
        if execute and page and not rows and count:  # past the end: show the last page
            count, rows = self._get_page((count - 1) // size, sort_column, sort_desc,
                                         search, filters, execute, page_size)
        return count, rows

    def _get_page(self, page, sort_column, sort_desc, search, filters, execute, page_size):
        count, query = super().get_list(page, sort_column, sort_desc, search, filters,
                                        execute=False, page_size=page_size)
        columns = self._read_columns()
        if columns:
            query = query.options(load_only(*columns, raiseload=True))
        return count, (query.all() if execute else query)

    #: columns the list's or export's formatters read besides the ones they show
    column_list_reads: tuple[str, ...] = ()

    def _read_columns(self):
        return self._read

    def _read_plan(self):
        """The mapped columns a list page or an export reads: the key, the listed
        and exported columns and column_list_reads, so a page loads those alone (a
        member row has 33 columns; list and export read 15). Empty, meaning every
        column, when one of them is not a plain column (a relation, a dotted path).
        Any other attribute raises if a formatter reads it: a lazy load per row
        would otherwise go unnoticed."""
        mapper = sa_inspect(self.model)
        names = dict.fromkeys([self._primary_key,
                               *(name for name, _label in self._list_columns),
                               *(name for name, _label in self._export_columns),
                               *self.column_list_reads])
        plain = all(name in mapper.column_attrs for name in names)
        return [getattr(self.model, name) for name in names] if plain else []

    @property
    def draws_rows_itself(self) -> bool:
        """list_row_cells can stand in for the stock row: no per-row buttons or
        inline-edit forms, which only Flask-Admin's template knows how to draw."""
        return not (self.column_display_actions or self.column_editable_list)

    @pass_context
    def list_row_cells(self, context, row, with_checkbox) -> Markup:
        """One list row's cells: what the stock template draws (the action checkbox,
        then each column's value through the view's formatters, as
        ``ModelView._get_list_value`` applies them), in one call."""
        cells = []  # fixed markup, and every value through escape()
        if with_checkbox:
            title = g.get("_select_title")
            if title is None:  # translated once per page
                title = g._select_title = escape(admin_gettext("Select record"))
            cells += (_CHECKBOX_OPEN, escape(self.get_pk_value(row)), _CHECKBOX_TITLE, title,
                      _CHECKBOX_CLOSE)
        for opening, column, formatter, choices in self._cells:
            if formatter is not None:
                value = formatter(self, context, row, column)
            else:
                value = rec_getattr(row, column)
            if choices:
                value = choices.get(value) or value
            else:
                value = self._type_format(value, column)
            cells += (opening, escape(value), _CELL_CLOSE)
        # Markup("").join would escape the fixed parts too: three times the cost.
        return Markup("".join(cells))  # noqa: S704 - values escaped above

    def _cell_plan(self):
        """Per listed column, resolved once: its opening tag, formatter and choices."""
        return [(f'<td class="col-{escape(column)}">', column,
                 self.column_formatters.get(column), self._column_choices_map.get(column))
                for column, _label in self._list_columns]

    def _type_format(self, value, column, formatters=None):
        """Flask-Admin's type formatters (None as blank, booleans as icons...): the
        first whose type the value is an instance of, found once per type (and per
        set of formatters: the list's, or the export's)."""
        formatters = self.column_type_formatters if formatters is None else formatters
        kind = (type(value), id(formatters))
        try:
            formatter = self._formatter_for_type[kind]
        except KeyError:
            formatter = self._formatter_for_type[kind] = next(
                (f for t, f in formatters.items() if isinstance(value, t)), None)
        return value if formatter is None else formatter(self, value, column)

    def handle_action(self, return_view=None):
        """Every action gets ids that parse_id takes: a list with anything else in it
        (rowid=abc, 1e3, a 20-digit number) is answered 404 before any handler runs.
        A list page shows page_size rows; more than MAX_ACTION_ROWS selected is refused
        with a message (on PostgreSQL a list of 65,536 ids is more parameters than one
        statement may carry)."""
        if len(ids_or_404(request.form.getlist("rowid"))) > MAX_ACTION_ROWS:
            flash(_("Select at most %(n)s rows at a time.", n=MAX_ACTION_ROWS), "error")
            return redirect(self.get_url(".index_view"))
        return super().handle_action(return_view)

    @action(*ModelView.action_delete._action)  # the same action, name and labels
    def action_delete(self, ids):
        """Flask-Admin's delete filters ``id IN (ids)`` with the ids as posted, strings:
        SQLAlchemy 2.1 types such a list from its values (VARCHAR), and PostgreSQL
        refuses ``integer = character varying`` (a 500). The same ids as numbers."""
        return super().action_delete(tuple(ids_or_404(ids)))

    def get_one(self, id):
        """The row only if it is in scope; a bad or foreign id looks missing."""
        key = parse_id(id, BIGINT_MAX if isinstance(self.key.type, BigInteger) else INT_MAX)
        return None if key is None else self.get_query().filter(self.key == key).one_or_none()
