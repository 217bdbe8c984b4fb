"""Shared storage: relative names, chunked bytes, deletes that follow the transaction,
on the database backend (every host) and the filesystem one (the demo)."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from sqlalchemy import delete, func, select

from backoffice import storage
from backoffice.extensions import db
from backoffice.models import StoredChunk, StoredFile
from backoffice.storage.database import DatabaseStorage
from backoffice.storage.filesystem import FilesystemStorage

BACKENDS = ("database", "filesystem")


@pytest.fixture(params=BACKENDS)
def store(request, app, tmp_path):
    """The storage under test, swapped into the app."""
    app.extensions["storage"] = DatabaseStorage() if request.param == "database" \
        else FilesystemStorage(tmp_path / "store")
    return request.param


def test_the_default_backend_follows_the_database(make_app, dialect):
    app = make_app()
    with app.app_context():
        chosen = type(storage.backend()).__name__
    assert chosen == ("DatabaseStorage" if dialect == "postgresql" else "FilesystemStorage")
    app = make_app(STORAGE_BACKEND="database")
    with app.app_context():
        assert isinstance(storage.backend(), DatabaseStorage)


def test_bytes_come_back_as_they_went_in_a_chunk_at_a_time(ctx, store):
    data = os.urandom(storage.CHUNK * 2 + 1234)
    saved = storage.save("exports/big.bin", data)
    assert saved.size == len(data) and saved.sha256 == hashlib.sha256(data).hexdigest()
    parts = list(storage.chunks("exports/big.bin"))
    assert [len(p) for p in parts] == [storage.CHUNK, storage.CHUNK, 1234]
    assert storage.read("exports/big.bin") == data and storage.size("exports/big.bin") == len(data)
    if store == "database":
        assert db.session.scalar(select(func.count()).select_from(StoredChunk).where(
            StoredChunk.name == "exports/big.bin")) == 3


def test_a_file_object_is_read_in_chunks_and_a_local_copy_keeps_its_suffix(ctx, store):
    data = b"name,mobile\n" * 100_000
    storage.save("imports/abc.csv", io.BytesIO(data))
    with storage.local_copy("imports/abc.csv") as path:
        assert path.suffix == ".csv" and path.read_bytes() == data


def test_a_content_name_is_kept_once_and_replace_overwrites(ctx, store):
    storage.save("photos/ab/same.jpg", b"first")
    assert storage.save("photos/ab/same.jpg", b"second").sha256 == \
        hashlib.sha256(b"first").hexdigest()
    assert storage.read("photos/ab/same.jpg") == b"first"
    storage.save("photos/ab/same.jpg", b"second", replace=True)
    assert storage.read("photos/ab/same.jpg") == b"second"


@pytest.mark.parametrize("name", ["/etc/passwd", "../x", "a/../../b", "photos//x", "", "a\\b",
                                  "photos/./x", "x" * 300, "/work/main/instance/imports/a.csv"])
def test_only_relative_plain_names_are_accepted(ctx, store, name):
    with pytest.raises(ValueError):
        storage.save(name, b"x")
    with pytest.raises(ValueError):
        storage.read(name)


def test_a_missing_file_says_so(ctx, store):
    with pytest.raises(storage.Missing):
        storage.read("photos/no/such.jpg")
    assert not storage.exists("photos/no/such.jpg")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_delete_waits_for_the_commit_and_a_rollback_keeps_the_file(make_app, backend,
                                                                     tmp_path):
    """Committed for real (two apps would see it); the rows are removed after."""
    app = make_app(STORAGE_BACKEND=backend, STORAGE_DIR=str(tmp_path / "shared"))
    name = f"photos/zz/{backend}-delete.jpg"
    try:
        with app.app_context():
            storage.save(name, b"photo")
            db.session.commit()
            storage.delete(name)
            db.session.rollback()
            assert storage.read(name) == b"photo"
            storage.delete(name)
            db.session.commit()
            assert not storage.exists(name)
    finally:
        with app.app_context():
            db.session.execute(delete(StoredChunk).where(StoredChunk.name == name))
            db.session.execute(delete(StoredFile).where(StoredFile.name == name))
            db.session.commit()


def test_two_apps_sharing_only_the_database_read_each_others_files(make_app, tmp_path,
                                                                   dialect):
    """The database backend: each app has its own instance folder, nothing else shared."""
    one = make_app(STORAGE_BACKEND="database", INSTANCE_PATH=str(tmp_path / "one"))
    two = make_app(STORAGE_BACKEND="database", INSTANCE_PATH=str(tmp_path / "two"))
    name = "exports/shared-by-two.bin"
    try:
        with one.app_context():
            storage.save(name, b"made on host one")
            db.session.commit()
        with two.app_context():
            assert storage.read(name) == b"made on host one"
            storage.delete(name)
            db.session.commit()
        with one.app_context():
            assert not storage.exists(name)
    finally:
        with one.app_context():
            db.session.execute(delete(StoredChunk).where(StoredChunk.name == name))
            db.session.execute(delete(StoredFile).where(StoredFile.name == name))
            db.session.commit()
