"""Files in the database, written and removed in the caller's transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import BinaryIO

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from backoffice.extensions import db
from backoffice.models import StoredChunk, StoredFile
from backoffice.storage import Missing, Saved, _read_chunks


class DatabaseStorage:
    def save(self, name: str, data: bytes | BinaryIO, *, replace: bool) -> Saved:
        session = db.session
        if replace:
            self.delete(name)
        else:
            found = session.get(StoredFile, name)
            if found is not None:
                return Saved(name, found.size, found.sha256)
        try:
            with session.begin_nested():  # two uploads of one photo at once: one row
                session.execute(insert(StoredFile).values(name=name, size=0, sha256="",
                                                          chunks=0))
        except IntegrityError:
            found = session.get(StoredFile, name, populate_existing=True)
            return Saved(name, found.size, found.sha256)
        digest, size, seq = hashlib.sha256(), 0, 0
        for chunk in _read_chunks(data):  # one chunk in memory at a time
            session.execute(insert(StoredChunk).values(name=name, seq=seq, data=chunk))
            digest.update(chunk)
            size, seq = size + len(chunk), seq + 1
        session.execute(update(StoredFile).where(StoredFile.name == name)
                        .values(size=size, sha256=digest.hexdigest(), chunks=seq))
        return Saved(name, size, digest.hexdigest())

    def chunks(self, name: str) -> Iterator[bytes]:
        count = db.session.scalar(select(StoredFile.chunks).where(StoredFile.name == name))
        if count is None:
            raise Missing(name)
        return self._chunks(name, count)

    @staticmethod
    def _chunks(name: str, count: int) -> Iterator[bytes]:
        for seq in range(count):  # one query per chunk: never the whole file in memory
            yield db.session.scalar(select(StoredChunk.data).where(
                StoredChunk.name == name, StoredChunk.seq == seq))

    def exists(self, name: str) -> bool:
        return db.session.scalar(select(StoredFile.name).where(StoredFile.name == name)) \
            is not None

    def size(self, name: str) -> int:
        found = db.session.scalar(select(StoredFile.size).where(StoredFile.name == name))
        if found is None:
            raise Missing(name)
        return found

    def delete(self, name: str) -> None:
        db.session.execute(delete(StoredChunk).where(StoredChunk.name == name))
        db.session.execute(delete(StoredFile).where(StoredFile.name == name))

    def local_path(self, name: str):
        return None
