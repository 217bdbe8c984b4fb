"""One storage for the files the backoffice keeps: member photos, uploaded paper-form
files, finished exports and their manifests.

Files are named by relative names ("photos/ab/<sha256>.jpg", "imports/…",
"exports/…", "manifests/…"); rows store the name, never a path on one host.
Two backends (docs/storage.md):

- ``database``: the files live in the database (table stored_file, bytes in
  1 MiB chunks), so every app host and worker sees them, pg_dump backs them up,
  and a write or delete commits or rolls back with the row that owns it. The
  default on PostgreSQL.
- ``filesystem``: a folder on this host (the instance folder unless STORAGE_DIR
  says otherwise), for the single-host SQLite demo. Deletes wait for the
  caller's commit, so a rolled-back erasure keeps its photo.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import Flask, current_app

CHUNK = 1 << 20
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*")


class Missing(LookupError):
    """No file of that name in storage."""


@dataclass(frozen=True)
class Saved:
    name: str
    size: int
    sha256: str


def check_name(name: str) -> str:
    """A relative name of plain parts: no absolute path, no "..", nothing a host could
    resolve outside the store."""
    if not isinstance(name, str) or len(name) > 255 or not _NAME.fullmatch(name) or \
            any(part in ("..", ".") for part in name.split("/")):
        raise ValueError("storage names are relative: letters, digits, . _ - and /")
    return name


def _make(app: Flask):
    from backoffice.storage.database import DatabaseStorage
    from backoffice.storage.filesystem import FilesystemStorage

    kind = app.config.get("STORAGE_BACKEND") or (
        "database" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
        else "filesystem")
    if kind == "database":
        backend = DatabaseStorage()
    elif kind == "filesystem":
        backend = FilesystemStorage(Path(app.config.get("STORAGE_DIR") or app.instance_path))
    else:
        from backoffice.settings import ConfigError

        raise ConfigError(f"STORAGE_BACKEND must be database or filesystem, not {kind!r}.")
    return backend


def backend():
    """The app's storage, chosen from its configuration on first use."""
    app = current_app._get_current_object()
    found = app.extensions.get("storage")
    if found is None:
        found = app.extensions["storage"] = _make(app)
    return found


def save(name: str, data: bytes | BinaryIO, *, replace: bool = False) -> Saved:
    """Keep data (bytes or a binary file read in chunks) under name. An existing file
    is kept as it is unless replace (content-addressed names hold the same bytes)."""
    return backend().save(check_name(name), data, replace=replace)


def chunks(name: str) -> Iterator[bytes]:
    """The file's bytes, a chunk at a time; Missing if there is no such file."""
    return backend().chunks(check_name(name))


def read(name: str) -> bytes:
    return b"".join(chunks(name))


def exists(name: str) -> bool:
    return backend().exists(check_name(name))


def size(name: str) -> int:
    return backend().size(check_name(name))


def delete(name: str) -> None:
    """Remove the file as part of the caller's transaction: gone when it commits, kept
    if it rolls back."""
    backend().delete(check_name(name))


@contextmanager
def local_copy(name: str) -> Iterator[Path]:
    """A path on this host holding the file (same suffix), for readers that need one
    (openpyxl seeks); removed afterwards unless it is the store's own file."""
    own = backend().local_path(check_name(name))
    if own is not None:
        yield own
        return
    with tempfile.TemporaryDirectory(prefix="sadasya-") as folder:
        path = Path(folder) / Path(name).name
        with path.open("wb") as out:
            for chunk in chunks(name):
                out.write(chunk)
        yield path


def copy_to(name: str, out: BinaryIO) -> int:
    written = 0
    for chunk in chunks(name):
        out.write(chunk)
        written += len(chunk)
    return written


def _read_chunks(source: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        for start in range(0, len(view), CHUNK):
            yield bytes(view[start:start + CHUNK])
        return
    yield from iter(lambda: source.read(CHUNK), b"")


__all__ = ["CHUNK", "Missing", "Saved", "check_name", "chunks", "copy_to", "delete", "exists",
           "local_copy", "read", "save", "size"]
