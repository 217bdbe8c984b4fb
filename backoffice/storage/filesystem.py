"""Files in a folder on this host: the single-host demo's storage.

A save is atomic (written aside, then renamed); a delete waits for the caller's
commit, like the database backend's, so a rolled-back erasure keeps its photo.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event
from sqlalchemy.orm import Session

from backoffice.extensions import db
from backoffice.storage import Missing, Saved, _read_chunks

_PENDING = "storage_deletes"


class FilesystemStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return self.root / name

    def save(self, name: str, data: bytes | BinaryIO, *, replace: bool) -> Saved:
        path = self._path(name)
        if path.exists() and not replace:
            return Saved(name, path.stat().st_size, _sha256(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        digest, size = hashlib.sha256(), 0
        with partial.open("wb") as out:
            for chunk in _read_chunks(data):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(path)  # atomic: a reader never sees half a file
        _forget_pending_delete(name)
        return Saved(name, size, digest.hexdigest())

    def chunks(self, name: str) -> Iterator[bytes]:
        path = self._path(name)
        if not path.is_file():
            raise Missing(name)
        return self._chunks(path)

    @staticmethod
    def _chunks(path: Path) -> Iterator[bytes]:
        with path.open("rb") as handle:
            yield from _read_chunks(handle)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def size(self, name: str) -> int:
        path = self._path(name)
        if not path.is_file():
            raise Missing(name)
        return path.stat().st_size

    def delete(self, name: str) -> None:
        session = db.session()
        session.info.setdefault(_PENDING, {})[name] = self._path(name)

    def local_path(self, name: str) -> Path | None:
        path = self._path(name)
        if not path.is_file():
            raise Missing(name)
        return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in _read_chunks(handle):
            digest.update(chunk)
    return digest.hexdigest()


def _forget_pending_delete(name: str) -> None:
    db.session().info.get(_PENDING, {}).pop(name, None)


@event.listens_for(Session, "after_commit")
def _delete_after_commit(session) -> None:
    for path in session.info.pop(_PENDING, {}).values():
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _keep_after_rollback(session) -> None:
    session.info.pop(_PENDING, None)
