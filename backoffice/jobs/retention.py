"""Files kept no longer than configured (docs/storage.md).

Uploaded paper-form files hold members' personal data: they leave storage
IMPORT_FILE_RETENTION_DAYS after their batch committed or, never committed,
after it was uploaded (abandoned). Their SHA-256 stays in the audit log. Files
jobs wrote for download leave EXPORT_RETENTION_HOURS after the job finished.
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update

from backoffice import audit, storage
from backoffice.extensions import db
from backoffice.models import ImportBatch, Job, utcnow

REMOVED = _l("The uploaded file was removed after its retention period; upload it again "
             "to import it.")


def purge() -> dict:
    return {"import_files": purge_import_files(), "export_files": purge_export_files()}


def purge_import_files() -> int:
    now = utcnow()
    cutoff = now - timedelta(days=current_app.config["IMPORT_FILE_RETENTION_DAYS"])
    due = db.session.scalars(select(ImportBatch).where(
        ImportBatch.file_deleted_at.is_(None),
        or_(and_(ImportBatch.status == "committed", ImportBatch.committed_at < cutoff),
            and_(ImportBatch.status.in_(("uploaded", "checked", "failed")),
                 ImportBatch.created_at < cutoff))).limit(200)).all()
    for batch in due:
        # Conditional: another worker purging at the same moment removes it once.
        if db.session.execute(update(ImportBatch).where(
                ImportBatch.id == batch.id, ImportBatch.file_deleted_at.is_(None),
                ImportBatch.status == batch.status).values(file_deleted_at=now)).rowcount != 1:
            db.session.rollback()
            continue
        abandoned = batch.status != "committed"
        if abandoned:
            db.session.execute(update(ImportBatch).where(ImportBatch.id == batch.id)
                               .values(status="failed"))
        still_used = db.session.scalar(select(ImportBatch.id).where(
            ImportBatch.stored_path == batch.stored_path, ImportBatch.id != batch.id,
            ImportBatch.file_deleted_at.is_(None)).limit(1))
        if still_used is None:
            storage.delete(batch.stored_path)
        audit.record("import.file_deleted", entity_type="import", entity_id=batch.id,
                     unit_id=batch.unit_id, details={
                         "sha256": batch.sha256,
                         "after": "abandoned" if abandoned else "committed"})
        db.session.commit()
    return len(due)


def purge_export_files() -> int:
    cutoff = utcnow() - timedelta(hours=current_app.config["EXPORT_RETENTION_HOURS"])
    due = db.session.execute(select(Job.id, Job.result).where(
        Job.state == "done", Job.finished_at < cutoff, Job.result.like('%"file": "exports/%'))
        .limit(200)).all()
    for job_id, result in due:
        data = json.loads(result)
        storage.delete(data.pop("file"))
        data["expired"] = True
        db.session.execute(update(Job).where(Job.id == job_id).values(result=json.dumps(data)))
        db.session.commit()
    return len(due)
