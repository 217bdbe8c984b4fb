"""Admin list exports: small ones sent at once, large ones made by a job.

Every row in the user's scope that the list's search and filters select is
exported (ScopedModelView.export_rows streams them from the database in
batches). An export of up to EXPORT_JOB_ROWS rows (the list's bounded count) is
written to a temporary file that spills to disk past SPOOL_BYTES, hashed,
audited (row count, SHA-256 of exactly the bytes delivered, the filters used;
committed before the first byte leaves) and sent. A larger one would keep the
request waiting (about two minutes at a million rows,
benchmarks/member_export.py), so it becomes a job (backoffice/jobs/exports.py,
docs/jobs.md): the same file and audit event, written by a worker with the
user's scope recomputed there; the list's /exports/ page shows its progress
and offers the file to its owner.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from urllib.parse import unquote_plus

from flask import abort, current_app, flash, g, jsonify, redirect, request, send_file, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.utils import secure_filename

from backoffice import audit, database, jobs
from backoffice.extensions import db
from backoffice.jobs import exports as export_jobs
from backoffice.jobs import queue
from backoffice.models import Job
from backoffice.services.exports import SafeCsvWriter
from backoffice.views.roll_files import own_job_or_404, send_job_file, wait_inline

SPOOL_BYTES = 4 * 1024 * 1024
PROGRESS_EVERY = 1000


def write_csv(view, rows, out, progress=None) -> tuple[int, str]:
    """The export's CSV (a BOM, the column titles, then one line per row, every field
    quoted and formulas defused) into the binary file ``out``; the rows written and
    the SHA-256 of the bytes. progress(rows) is told every PROGRESS_EVERY rows."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")  # BOM: Excel reads Hindi
    writer = SafeCsvWriter(text)  # every field quoted (OWASP)
    writer.writerow([str(title) for _name, title in view._export_columns])
    written = 0
    for row in rows:
        writer.writerow(view.export_cells(row))  # the writer neutralises formulas
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)
    text.flush()
    text.detach()
    digest = hashlib.sha256()
    out.seek(0)
    for chunk in iter(lambda: out.read(1 << 16), b""):
        digest.update(chunk)
    if progress is not None:
        progress(written)
    return written, digest.hexdigest()


def audit_details(rows: int, sha256: str, query: str) -> dict:
    return {"format": "csv", "rows": rows, "sha256": sha256, "query": query[:500]}


class AuditedExportMixin:
    export_noun = "record"
    exports_template = "admin/list_exports.html"

    def _export_csv(self, return_url):
        database.writes()  # a GET that records the export in the audit log
        count, rows = self.export_rows()
        if count > min(current_app.config["EXPORT_JOB_ROWS"], self.count_bound):
            return self._export_job()
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")
        written, digest = write_csv(self, rows, spool)
        audit.record(f"{self.export_noun}.export", details=audit_details(
            written, digest, request.query_string.decode()))
        db.session.commit()
        spool.seek(0)
        name = secure_filename(self.get_export_name(export_type="csv"))
        return send_file(spool, mimetype="text/csv", as_attachment=True, download_name=name)

    def _export_job(self):
        """The user's job for this export (the one already under way for the same list,
        search and filters, after a double click)."""
        job = export_jobs.submit(current_user, self.endpoint, request.query_string.decode(),
                                 secure_filename(self.get_export_name(export_type="csv")))
        db.session.commit()
        jobs.dispatch(job)
        if queue.mode() == "inline":  # tests: the job ran in this request (or another's)
            g.database_writes = False
            job = wait_inline(job.id)
            if jobs.status(job)["ready"]:
                return send_job_file(job)
        if job.state == "failed":
            flash(jobs.error_text(job), "error")
        else:
            flash(_("The export is large, so it is being prepared. This page shows how far "
                    "it got and offers the file when it is ready."), "info")
        return redirect(url_for(".exports"))

    @expose("/exports/")
    def exports(self):
        """The user's recent exports of this list: progress, then the file."""
        recent = db.session.scalars(select(Job).where(
            Job.kind == export_jobs.KIND, Job.subject == export_jobs.subject(self.endpoint),
            Job.created_by_id == current_user.id).order_by(Job.id.desc()).limit(10))
        return self.render(self.exports_template, export_jobs=[
            (job, jobs.status(job), unquote_plus(json.loads(job.args).get("query", "")))
            for job in recent], list_url=self.get_url(".index_view"))

    @expose("/exports/file/")
    def export_file(self):
        return send_job_file(self._export_job_of_user())

    @expose("/exports/status/")
    def export_status(self):
        return jsonify(jobs.status(self._export_job_of_user()))

    def _export_job_of_user(self) -> Job:
        """The user's own export job of this list; anyone else's looks missing."""
        if not self.can_export:
            abort(404)
        return own_job_or_404(export_jobs.KIND, export_jobs.subject(self.endpoint))
