"""Helpers for tests that look into storage, whichever backend the run uses."""

from __future__ import annotations

from sqlalchemy import select

from backoffice import storage
from backoffice.extensions import db
from backoffice.models import StoredFile
from backoffice.storage.database import DatabaseStorage


def kept(prefix: str = "photos/") -> list[str]:
    """The names of the files kept under prefix."""
    backend = storage.backend()
    if isinstance(backend, DatabaseStorage):
        return list(db.session.scalars(select(StoredFile.name).where(
            StoredFile.name.startswith(prefix)).order_by(StoredFile.name)))
    folder = backend.root / prefix
    return sorted(str(p.relative_to(backend.root)) for p in folder.rglob("*")
                  if p.is_file()) if folder.exists() else []
