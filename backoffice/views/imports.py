"""Paper-form imports: upload, map the columns, dry run, commit; progress polled."""

from __future__ import annotations

import json

from flask import Response, abort, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_admin.helpers import get_form_data
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from backoffice import jobs
from backoffice.auth.roles import MEMBER_IMPORT
from backoffice.auth.scoping import scoped_units, unit_filter
from backoffice.extensions import db
from backoffice.jobs import imports as import_jobs
from backoffice.models import ImportBatch, Unit
from backoffice.services import import_files, imports
from backoffice.services.errors import ServiceError
from backoffice.services.import_files import FIELD_LABELS
from backoffice.uploads import accepts_file
from backoffice.views.base import AdminForm, SecureView, choices
from backoffice.views.ids import form_id, id_or_404

#: a batch's status as its pages show it (the codes stay in the data and the JSON)
STATUS_LABELS = {"uploaded": _l("Uploaded"), "checking": _l("Being checked"),
                 "checked": _l("Checked"), "committing": _l("Being committed"),
                 "committed": _l("Members added"), "failed": _l("Failed")}


class UploadForm(AdminForm):
    unit_id = SelectField(_l("Block or district"), coerce=form_id)
    receipt_books = StringField(_l("Receipt book numbers"),
                                validators=[DataRequired(), Length(max=200)])
    file = FileField(_l("File (.csv or .xlsx)"))


class ImportView(SecureView):
    permission = MEMBER_IMPORT

    def _batches(self):
        units = select(Unit.id).where(unit_filter(current_user, MEMBER_IMPORT))
        return select(ImportBatch).where(ImportBatch.unit_id.in_(units))

    def _batch(self) -> ImportBatch:
        batch_id = id_or_404(request.args.get("id", ""))
        batch = db.session.scalar(self._batches().where(ImportBatch.id == batch_id))
        if batch is None:
            abort(404)
        return batch

    def _upload_form(self, formdata=None) -> UploadForm:
        form = UploadForm(formdata)
        units = db.session.scalars(scoped_units(current_user, MEMBER_IMPORT,
                                                levels=["district", "block"]))
        form.unit_id.choices = choices((u.id, str(u)) for u in units)
        return form

    @expose("/", methods=["GET", "POST"])
    @accepts_file("IMPORT_MAX_BYTES")
    def index(self):
        form = self._upload_form(get_form_data() if request.method == "POST" else None)
        if request.method == "POST" and form.validate():
            upload = form.file.data
            try:
                batch = imports.upload(current_user, db.session.get(Unit, form.unit_id.data),
                                       upload.read() if upload else b"",
                                       upload.filename if upload else "",
                                       form.receipt_books.data)
            except ServiceError as error:
                db.session.rollback()
                flash(str(error.message), "error")
            else:
                db.session.commit()
                return redirect(url_for(".batch", id=batch.id))
        batches = db.session.scalars(self._batches().order_by(ImportBatch.id.desc())
                                     .limit(50)).all()
        return self.render("admin/imports.html", form=form, batches=batches,
                           status_labels=STATUS_LABELS)

    @expose("/batch/", methods=["GET", "POST"])
    def batch(self):
        batch = self._batch()
        headings = imports.headings(batch)
        if request.method == "POST":
            mapping = {f: request.form.get(f, "") for f in import_files.FIELDS}
            try:
                imports.set_mapping(batch, {f: h for f, h in mapping.items() if h})
            except ServiceError as error:
                db.session.rollback()
                flash(str(error.message), "error")
            else:
                db.session.commit()
                flash(_("Columns saved. Now run the check."), "success")
            return redirect(url_for(".batch", id=batch.id))
        return self.render("admin/import_batch.html", batch=batch, headings=headings,
                           mapping=json.loads(batch.mapping), labels=FIELD_LABELS,
                           progress=import_jobs.progress_of(batch),
                           status_labels=STATUS_LABELS)

    @expose("/run/", methods=["POST"])
    def run(self):
        batch = self._batch()
        batch_id, step = batch.id, request.form.get("step")
        # A conditional move of the batch, committed with its job: a double click or a
        # second host gets "not possible now", never a second commit.
        job = import_jobs.submit(current_user, batch, step) if step in import_jobs.STEPS \
            else None
        if job is None:
            db.session.rollback()
            flash(_("This step is not possible now."), "error")
        else:
            job_id = job.id
            db.session.commit()
            # Nothing read after this: on SQLite a read here would begin this writing
            # request's next transaction, which waits for the job's (docs/sqlite.md).
            jobs.dispatch(job_id)
        return redirect(url_for(".batch", id=batch_id))

    @expose("/progress/")
    def progress(self):
        batch = self._batch()
        db.session.refresh(batch)
        return jsonify(import_jobs.progress_of(batch))

    @expose("/problems/")
    def problems(self):
        batch = self._batch()
        return Response(imports.problems_csv(batch), mimetype="text/csv", headers={
            "Content-Disposition": f"attachment; filename=import-{batch.id}-problems.csv"})
