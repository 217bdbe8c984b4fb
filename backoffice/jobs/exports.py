"""A list export too large for a request (the member list's, the approval queue's) as a job.

The job keeps only what the user asked for: which list (the admin view's
endpoint) and the export URL's query string (search, filters, sort), with the
language and address of the request. Which rows that means is decided when the
job runs, by the same view code as the list, for the job's creator as they are
then: their scope is recomputed from their user id (a role lost meanwhile
narrows or refuses the export), never taken from ids or units passed in.

The file, its audit event (row count and SHA-256 of the file, as for an export
sent at once) and the job's "done" commit together: a worker killed half-way
leaves no event, and the file it may have put in storage is never offered.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile

from flask import current_app, g, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from backoffice import audit, jobs, storage
from backoffice.auth.scoping import has_permission
from backoffice.extensions import db
from backoffice.i18n import current_language
from backoffice.models import Job
from backoffice.services.errors import NotFound

KIND = "list.export"
REFUSED = _l("You may no longer export this list.")


def subject(endpoint: str) -> str:
    return f"export:{endpoint}"


def submit(actor, endpoint: str, query: str, filename: str) -> Job:
    """The user's export of this list with this search, filters and sort: one job while
    one is under way (a double click, a second tab, two hosts)."""
    digest = hashlib.sha256(query.encode()).hexdigest()[:32]
    args = {"view": endpoint, "query": query, "filename": filename,
            "language": current_language(), "address": request.remote_addr or ""}
    return jobs.submit(KIND, subject(endpoint), args, actor,
                       key=f"export:{endpoint}:{actor.id}:{digest}")


def _view(endpoint: str):
    for admin in current_app.extensions.get("admin", []):
        for view in admin._views:
            if view.endpoint == endpoint and hasattr(view, "export_rows"):
                return view
    return None


@contextlib.contextmanager
def _as_user(actor, query: str, language: str, address: str):
    """A request for the export URL's arguments, as the job's creator, in their
    language: what the list's code reads (request.args, current_user)."""
    with current_app.test_request_context("/", query_string=query,
                                          environ_base={"REMOTE_ADDR": address}), \
            force_locale(language):
        before = g.get("_login_user")
        g._login_user = actor  # Flask-Login's current_user for this request
        try:
            yield
        finally:
            g._login_user = before


def _counted(rows) -> int:
    """The exact number of rows (the list's count stops at its bound): one index scan,
    small beside writing them, for the page's "rows written / rows in all"."""
    inner = rows.order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(inner))


@jobs.define(KIND)
def export(context, view: str, query: str, filename: str, language: str = "hi",
           address: str = "") -> dict:
    from backoffice.views.exports import audit_details, write_csv

    actor, admin_view = context.actor, _view(view)
    if actor is None or not actor.is_active or admin_view is None:
        raise NotFound(REFUSED)
    with _as_user(actor, query, language, address):
        if not (has_permission(actor, admin_view.permission) and admin_view.can_export):
            raise NotFound(REFUSED)
        count, rows = admin_view.export_rows()
        context.set_total(count if count <= admin_view.count_bound else _counted(rows))
        handle = tempfile.NamedTemporaryFile(prefix="export-", suffix=".csv", delete=False)
        try:
            with handle:
                written, digest = write_csv(admin_view, rows, handle,
                                            progress=context.progress)
            name = f"exports/job-{context.job_id}.csv"
            with open(handle.name, "rb") as saved:  # into storage a chunk at a time
                storage.save(name, saved, replace=True)
        finally:
            os.unlink(handle.name)
        details = audit_details(written, digest, query) | {"job": context.job_id}
        audit.record(f"{admin_view.export_noun}.export", actor=actor, details=details)
    return {"file": name, "filename": filename, "media_type": "text/csv",
            "details": details}
