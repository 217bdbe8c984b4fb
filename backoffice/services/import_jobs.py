"""Running a check or commit of an import away from the request that asked for it.

The web page starts the job in a background thread with its own app context and
database session, then polls its progress; a worker is never held for the
minute a large file takes. Progress lives in this process (fast, for SQLite's
single writer) and, on PostgreSQL, in the batch row too (for other workers).
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app
from sqlalchemy import update

from backoffice.extensions import db
from backoffice.models import ImportBatch, StaffUser
from backoffice.services import imports

log = logging.getLogger(__name__)
STEPS = {"check": ("checking", imports.check), "commit": ("committing", imports.commit)}


def progress_of(batch: ImportBatch) -> dict:
    live = current_app.extensions.setdefault("import_progress", {}).get(batch.id)
    return {"status": batch.status, "total": batch.total_rows,
            "processed": live if live is not None else batch.processed_rows,
            "valid": batch.valid_rows, "rejected": batch.rejected_rows,
            "committed": batch.committed_rows, "error": batch.error}


def start(user_id: int, batch_id: int, step: str) -> threading.Thread | None:
    """Mark the batch busy and run the step; in a thread unless IMPORT_IN_BACKGROUND is off."""
    running, _work = STEPS[step]
    db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id)
                       .values(status=running, processed_rows=0, error=None))
    db.session.commit()
    app = current_app._get_current_object()
    if not app.config["IMPORT_IN_BACKGROUND"]:
        _run(app, user_id, batch_id, step)
        return None
    thread = threading.Thread(target=_run, args=(app, user_id, batch_id, step), daemon=True,
                              name=f"import-{batch_id}-{step}")
    thread.start()
    return thread


def _run(app: Flask, user_id: int, batch_id: int, step: str) -> None:
    previous, work = {"check": "uploaded", "commit": "checked"}[step], STEPS[step][1]
    with app.app_context(), app.test_request_context():
        progress = app.extensions.setdefault("import_progress", {})
        shared = db.engine.dialect.name == "postgresql"

        def report(rows: int) -> None:
            progress[batch_id] = rows
            if shared and rows % 20_000 < imports.CHUNK:  # other workers read the row
                try:  # on its own connection; progress is worth a try, never a failure
                    with db.engine.begin() as connection:
                        connection.execute(update(ImportBatch).where(
                            ImportBatch.id == batch_id).values(processed_rows=rows))
                except Exception:  # noqa: BLE001
                    log.debug("import %s: progress not recorded", batch_id)

        try:
            actor = db.session.get(StaffUser, user_id)
            db.session.get(ImportBatch, batch_id).status = previous
            work(actor, batch_id, progress=report)
            db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported on the batch, never lost
            db.session.rollback()
            log.warning("import %s %s failed: %s", batch_id, step, type(error).__name__)
            message = str(getattr(error, "message", "")) or "The import stopped on an error."
            db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id)
                               .values(status=previous, error=message[:500]))
            db.session.commit()
        finally:
            progress.pop(batch_id, None)
            db.session.remove()
