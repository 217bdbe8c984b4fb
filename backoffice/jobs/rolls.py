"""Roll files (CSV, XLSX, the booth-wise PDF and the ZIP of per-booth PDFs) as jobs.

The job writes the file, records its audit event and keeps the file in shared
storage in one transaction, so a worker killed half-way leaves neither a file
nor an event. Once that commits, the manifest is signed (it names the committed
audit position) and kept beside it (manifests/roll-<id>-<seq>.json).
"""

from __future__ import annotations

import os

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from backoffice import jobs, storage
from backoffice.auth.roles import ROLL_MANAGE
from backoffice.auth.scoping import unit_in_scope
from backoffice.extensions import db
from backoffice.models import AuditEvent, Job, Roll, Unit
from backoffice.services import roll_exports
from backoffice.services.errors import NotFound

TOO_LONG = _l("This roll is too long for one PDF: download the ZIP of per-booth PDFs.")


def submit(actor, roll: Roll, kind: str) -> Job:
    """The user's file of this roll in this format: one job while one is under way."""
    return jobs.submit("roll.export", f"roll:{roll.id}", {"roll_id": roll.id, "kind": kind},
                       actor, key=f"roll:{roll.id}:{kind}:{actor.id}")


def _sign(result: dict) -> dict:
    roll = db.session.get(Roll, result["roll"])
    made = roll_exports.Export(path=None, rows=result["details"]["rows"],
                               sha256=result["details"]["sha256"],
                               media_type=result["media_type"], filename=result["filename"],
                               details=result["details"])
    manifest = roll_exports.sign(roll, made)
    seq = db.session.scalar(select(func.max(AuditEvent.seq)).where(
        AuditEvent.action == "roll.export", AuditEvent.entity_id == roll.id))
    storage.save(f"manifests/roll-{roll.id}-{seq}.json",
                 roll_exports.manifest_json(manifest).encode(), replace=True)
    return {"manifest": manifest}


@jobs.define("roll.export", after=_sign)
def export(context, roll_id: int, kind: str) -> dict:
    roll = db.session.get(Roll, roll_id)
    unit = db.session.get(Unit, roll.unit_id) if roll is not None else None
    if unit is None or not unit_in_scope(context.actor, ROLL_MANAGE, unit):
        raise NotFound(_l("No such roll in your units."))
    context.set_total(roll.entry_count)
    try:
        made = roll_exports.export(context.actor, roll, kind, progress=context.progress)
    except ValueError:  # a single PDF too big: the per-booth ZIP is the way
        raise NotFound(TOO_LONG) from None
    name = f"exports/job-{context.job_id}.{made.filename.rsplit('.', 1)[-1]}"
    try:
        with open(made.path, "rb") as handle:  # into storage a chunk at a time
            storage.save(name, handle, replace=True)
    finally:
        os.unlink(made.path)
    return {"file": name, "filename": made.filename, "media_type": made.media_type,
            "roll": roll.id, "details": made.details}
