"""Admin list exports: written to a temporary file first, hashed, audited, then sent.

Every row in the user's scope that the list's search and filters select is
exported (ScopedModelView.export_rows streams them from the database in
batches), through a temporary file that spills to disk past SPOOL_BYTES, so
memory stays the same at a thousand rows or a million
(benchmarks/member_export.py). The audit event (row count, SHA-256 of exactly
the bytes delivered, the filters used) is committed before the first byte
leaves.
"""

from __future__ import annotations

import hashlib
import io
import tempfile

from flask import request, send_file
from werkzeug.utils import secure_filename

from backoffice import audit, database
from backoffice.extensions import db
from backoffice.services.exports import SafeCsvWriter

SPOOL_BYTES = 4 * 1024 * 1024


class AuditedExportMixin:
    export_noun = "record"

    def _export_csv(self, return_url):
        database.writes()  # a GET that records the export in the audit log
        rows = self.export_rows()
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")
        text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")  # BOM: Excel reads Hindi
        writer = SafeCsvWriter(text)  # every field quoted (OWASP)
        writer.writerow([str(title) for _name, title in self._export_columns])
        written = 0
        for row in rows:
            writer.writerow(self.export_cells(row))  # the writer neutralises formulas
            written += 1
        text.flush()
        text.detach()
        digest = hashlib.sha256()
        spool.seek(0)
        for chunk in iter(lambda: spool.read(1 << 16), b""):
            digest.update(chunk)
        audit.record(f"{self.export_noun}.export", details={
            "format": "csv", "rows": written, "sha256": digest.hexdigest(),
            "query": request.query_string.decode()[:500]})
        db.session.commit()
        spool.seek(0)
        name = secure_filename(self.get_export_name(export_type="csv"))
        return send_file(spool, mimetype="text/csv", as_attachment=True, download_name=name)
