"""Paper-form import check and commit as jobs.

The batch's status says a job holds it ("checking", "committing"); the move
into it is a conditional update committed with the job row, so a double click
or two app hosts start one job. The commit job inserts the members, sets the
batch committed and marks itself done in one transaction: a worker killed
half-way leaves no member behind, and the reaper hands the batch back
("checked") to be committed again.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from backoffice import jobs
from backoffice.extensions import db
from backoffice.models import ImportBatch, Job
from backoffice.services import imports
from backoffice.services.errors import ServiceError

STEPS = {"check": ("checking", ("uploaded", "checked"), "uploaded"),
         "commit": ("committing", ("checked",), "checked")}  # busy, from, back to


def submit(actor, batch: ImportBatch, step: str) -> Job | None:
    """Queue the step for the batch, or None if the batch is not ready for it (already
    being checked or committed, or committed). The caller commits, then dispatches."""
    busy, ready, _back = STEPS[step]
    moved = db.session.execute(update(ImportBatch).where(
        ImportBatch.id == batch.id, ImportBatch.status.in_(ready),
        ImportBatch.file_deleted_at.is_(None)).values(status=busy, processed_rows=0,
                                                       error=None))
    if moved.rowcount != 1:
        return None
    return jobs.submit(f"import.{step}", f"import:{batch.id}",
                       {"batch_id": batch.id}, actor, key=f"import:{batch.id}")


def _hand_back(step: str):
    busy, _ready, back = STEPS[step]

    def hand_back(args: dict) -> None:
        db.session.execute(update(ImportBatch).where(
            ImportBatch.id == args["batch_id"], ImportBatch.status == busy).values(status=back))
    return hand_back


def _claim_batch(context, batch_id: int, step: str) -> ImportBatch:
    busy, _ready, back = STEPS[step]
    batch = db.session.scalars(select(ImportBatch).where(ImportBatch.id == batch_id)
                               .with_for_update()).one()
    if batch.status != busy:
        raise ServiceError(_l("This step is not possible now."))
    batch.status = back  # the service checks the state it expects; a failure rolls back
    return batch


@jobs.define("import.check", on_fail=_hand_back("check"))
def check(context, batch_id: int) -> dict:
    _claim_batch(context, batch_id, "check")
    batch = imports.check(context.actor, batch_id, progress=context.progress)
    return {"rows": batch.total_rows, "valid": batch.valid_rows}


@jobs.define("import.commit", on_fail=_hand_back("commit"))
def commit(context, batch_id: int) -> dict:
    batch = _claim_batch(context, batch_id, "commit")
    context.set_total(batch.total_rows)
    return {"committed": imports.commit(context.actor, batch_id, progress=context.progress)}


def progress_of(batch: ImportBatch) -> dict:
    """The batch page's box, from any host: the batch's counts and its latest job."""
    from backoffice.jobs.retention import REMOVED

    job = jobs.status(jobs.latest(f"import:{batch.id}"))
    error = (job or {}).get("error") if batch.status not in ("checking", "committing") else None
    if batch.file_deleted_at is not None and batch.status == "failed":
        error = str(REMOVED)
    return {"status": batch.status, "total": batch.total_rows,
            "processed": job["progress"] if job else batch.processed_rows,
            "valid": batch.valid_rows, "rejected": batch.rejected_rows,
            "committed": batch.committed_rows, "error": error, "job": job}
