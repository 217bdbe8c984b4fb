"""Roll files for returning officers, made by jobs: asked for on the roll's page, which
shows their progress and offers each file once ready (from any app host)."""

from __future__ import annotations

import base64
import json

from flask import (
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice import database, jobs, storage
from backoffice.extensions import db
from backoffice.jobs import queue
from backoffice.jobs import rolls as roll_jobs
from backoffice.models import Job
from backoffice.services import roll_exports
from backoffice.views.ids import parse_id

INLINE_WAIT_SECONDS = 60


class RollFilesMixin:
    """/download/ starts (or finds) the user's job for a file; /file/ hands it out."""

    def render(self, template, **kwargs):
        roll = kwargs.get("model")
        if template == self.details_template and roll is not None:
            kwargs["roll_jobs"] = [(job, jobs.status(job), json.loads(job.args)["kind"])
                                   for job in db.session.scalars(
                select(Job).where(Job.subject == f"roll:{roll.id}", Job.kind == "roll.export",
                                  Job.created_by_id == current_user.id)
                .order_by(Job.id.desc()).limit(8))]
        return super().render(template, **kwargs)

    @expose("/download/", methods=["GET", "POST"])
    def download(self):
        database.writes()  # a download queues a job and is audited
        roll = self._roll()
        kind = request.values.get("format", "csv")
        if kind not in roll_exports.FORMATS or roll.status == "draft":
            abort(404)
        job = roll_jobs.submit(current_user, roll, kind)
        db.session.commit()
        jobs.dispatch(job)
        if queue.mode() == "inline":  # tests: the job ran in this request (or another's)
            g.database_writes = False  # only reads from here: no write lock per look
            job = wait_inline(job.id)
        if jobs.status(job)["ready"]:
            return send_job_file(job)
        if job.state == "failed":
            flash(jobs.error_text(job), "error")
        else:
            flash(_("The file is being prepared. This page shows how far it got and offers "
                    "it when it is ready."), "info")
        return redirect(url_for(".details_view", id=roll.id))

    @expose("/file/")
    def file(self):
        return send_job_file(self._job())

    @expose("/file/status/")
    def file_status(self):
        return jsonify(jobs.status(self._job()))

    def _job(self) -> Job:
        """The user's own roll file job, for a roll still in their units."""
        job = own_job_or_404("roll.export")
        if self.get_one(str(json.loads(job.args)["roll_id"])) is None:
            abort(404)
        return job

    @expose("/manifest/")
    def manifest(self):
        roll = self._roll()
        seq = parse_id(request.args.get("seq", ""))
        name = f"manifests/roll-{roll.id}-{seq}.json"
        if seq is None or not storage.exists(name):
            abort(404)
        return Response(storage.read(name), mimetype="application/json", headers={
            "Content-Disposition": f"attachment; filename=roll-{roll.id}-{seq}.json"})


def own_job_or_404(kind: str, subject: str | None = None) -> Job:
    """The job named by ``?job=`` if it is of ``kind`` (and ``subject``) and the current
    user asked for it; anyone else's, or a malformed id, looks missing."""
    key = parse_id(request.args.get("job", ""))
    job = db.session.get(Job, key) if key else None
    if (job is None or job.kind != kind or job.created_by_id != current_user.id
            or (subject is not None and job.subject != subject)):
        abort(404)
    return job


def send_job_file(job: Job):
    """A finished job's file from storage (the caller has checked it is the user's)."""
    result = jobs.result_of(job)
    if not jobs.status(job)["ready"] or not storage.exists(result["file"]):
        abort(404)  # not ready, or past its retention
    response = Response(stream_with_context(storage.chunks(result["file"])),
                        mimetype=result["media_type"])
    response.headers["Content-Disposition"] = f"attachment; filename={result['filename']}"
    response.headers["Content-Length"] = str(storage.size(result["file"]))
    if result.get("manifest"):
        response.headers["X-Sadasya-Manifest"] = base64.b64encode(
            json.dumps(result["manifest"]).encode()).decode()
    return response


def wait_inline(job_id: int) -> Job:
    """Tests (JOBS_QUEUE = "inline"): the job as it ends, run in this request or, when
    another request's is under way, there."""
    import time

    deadline = time.monotonic() + INLINE_WAIT_SECONDS
    while True:
        db.session.rollback()  # see what other requests committed
        job = db.session.get(Job, job_id)
        if job.state == "failed" or jobs.status(job)["ready"] or time.monotonic() > deadline:
            return job
        time.sleep(0.05)
