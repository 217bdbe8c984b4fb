"""Backup and restore as docs/backup.md tells an operator: `backoffice backup create`, a
fresh database owned by the tables' owner, `backoffice backup restore --into`, and the
copy's audit log verifies. Every step runs the real command in a subprocess, as the
owner role (no superuser), against databases this module creates and drops."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.conftest import POSTGRES_URL

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL"),
]
TAG = f"{os.getpid()}"
OWNER = f"sadasya_bk_owner_{TAG}"
APP = f"sadasya_bk_app_{TAG}"
PASSWORD = "backup-test-only"  # noqa: S105 - throwaway roles, dropped after the module


@contextmanager
def _connect(url: str = POSTGRES_URL):
    """An autocommit connection, its engine disposed after (no connection left open)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _url(database: str, role: str = OWNER) -> str:
    return make_url(POSTGRES_URL).set(database=database, username=role, password=PASSWORD) \
        .render_as_string(hide_password=False)


def _create_database(name: str) -> None:
    with _connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name} OWNER {OWNER}")


def backoffice(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-c", "from backoffice.console import main; main()",
                           *args], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    if check:
        assert done.returncode == 0, f"backoffice {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def _env(tmp: Path, database: str, storage: Path, **extra) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("BACKOFFICE_")}
    env.update({
        "BACKOFFICE_ENV": "development",
        "BACKOFFICE_INSTANCE_PATH": str(tmp / "instance"),
        "BACKOFFICE_DATABASE_URL": _url(database),
        "BACKOFFICE_STORAGE_BACKEND": "filesystem",
        "BACKOFFICE_STORAGE_DIR": str(storage),
        "BACKOFFICE_LOG_CONFIGURE": "false",
    })
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def drive(tmp_path_factory):
    """A source database with the demo drive, a frozen roll, a stored photo, a signed
    checkpoint; and a backup of it. Databases and roles dropped after."""
    tmp = tmp_path_factory.mktemp("backup")
    source, made = f"sadasya_bk_src_{TAG}", []
    with _connect() as connection:
        for role in (OWNER, APP):
            connection.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
            connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
    try:
        _create_database(source)
        made.append(source)
        env = _env(tmp, source, tmp / "files")
        backoffice(env, "db", "upgrade")
        backoffice(env, "demo", "--members", "40")
        officer = ("--as", "ro.bilaspur@demo.sadasya.in")
        backoffice(env, "rolls", "create", *officer, "--unit", "DIST-BILASPUR",
                   "--cut-off", date.today().isoformat(), "--title", "Backup test roll")
        backoffice(env, "rolls", "freeze", *officer, "1")
        photo = tmp / "files" / "photos" / "ab" / "abc.jpg"
        photo.parent.mkdir(parents=True)
        photo.write_bytes(b"\xff\xd8 a photo \xff\xd9")
        keygen = tmp / "instance" / "audit-signing-key.pem"
        assert keygen.exists()  # the demo made the development signing key
        created = backoffice(env, "backup", "create", str(tmp / "backups"))
        (folder,) = (tmp / "backups").iterdir()
        yield {"tmp": tmp, "env": env, "folder": folder, "made": made, "source": source,
               "created": created.stdout, "photo": photo}
    finally:
        with _connect() as connection:
            for name in made:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            for role in (APP, OWNER):
                connection.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")


def _counts(url: str) -> tuple:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return tuple(connection.execute(text(query)).scalar_one() for query in (
                "SELECT count(*) FROM member", "SELECT count(*) FROM audit_event",
                "SELECT count(*) FROM roll_entry", "SELECT max(seq) FROM audit_event"))
    finally:
        engine.dispose()


def test_a_backup_holds_the_dump_the_files_and_a_checkpoint_but_not_the_key(drive):
    folder = drive["folder"]
    assert folder.name.startswith("sadasya-") and not folder.name.endswith(".partial")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["SHA256SUMS", "checkpoint.json", "database.dump", "files.tar"]
    assert "signing key is not in it" in drive["created"]
    everything = b"".join(p.read_bytes() for p in folder.iterdir())
    key = (drive["tmp"] / "instance" / "audit-signing-key.pem").read_bytes()
    assert key not in everything and b"PRIVATE KEY" not in everything


def test_a_restored_copy_verifies_and_matches_the_source(drive):
    target = f"sadasya_bk_copy_{TAG}"
    _create_database(target)
    drive["made"].append(target)
    # The trusted key comes from the signing key kept apart, not from the backup's own
    # checkpoint.json (whoever changed a backup could name their own key there).
    signing_key = serialization.load_pem_private_key(
        (drive["tmp"] / "instance" / "audit-signing-key.pem").read_bytes(), password=None)
    public_key = base64.b64encode(signing_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()
    assert json.loads((drive["folder"] / "checkpoint.json").read_text())["public_key"] == \
        public_key
    storage = drive["tmp"] / "restored-files"
    env = _env(drive["tmp"], target, storage, BACKOFFICE_AUDIT_TRUSTED_KEYS=public_key)

    done = backoffice(env, "backup", "restore", str(drive["folder"]), "--into", _url(target),
                      "--app-role", APP)

    assert "The copy verifies." in done.stdout
    assert "events verified (up to checkpoint" in done.stdout
    assert "member rows match their last recorded state" in done.stdout
    assert _counts(_url(target)) == _counts(_url(drive["source"]))
    restored = storage / drive["photo"].relative_to(drive["tmp"] / "files")
    assert restored.read_bytes() == drive["photo"].read_bytes()
    # The app's role was granted on the copy: it reads members, cannot rewrite the log.
    with _connect(_url(target, APP)) as connection:
        assert connection.execute(text("SELECT count(*) FROM member")).scalar_one() == 40
        with pytest.raises(DBAPIError, match="permission denied"):
            connection.execute(text("DELETE FROM audit_event"))

    # A member row changed behind the app on the copy is named by the state check.
    with _connect(_url(target)) as connection:
        member_id = connection.execute(text(
            "UPDATE member SET full_name = 'Someone Else' WHERE id = "
            "(SELECT min(id) FROM member) RETURNING id")).scalar_one()
    tampered = backoffice(env, "audit", "verify", "--state", check=False)
    assert tampered.returncode == 1
    assert f"member {member_id}:" in tampered.stdout


def test_restore_refuses_a_changed_backup_and_a_database_in_use(drive, tmp_path):
    target = f"sadasya_bk_refused_{TAG}"
    _create_database(target)
    drive["made"].append(target)
    env = _env(drive["tmp"], target, tmp_path / "files")
    changed = tmp_path / "changed"
    changed.mkdir()
    for part in drive["folder"].iterdir():
        (changed / part.name).write_bytes(part.read_bytes())
    dump = changed / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))

    refused = backoffice(env, "backup", "restore", str(changed), "--into", _url(target),
                         check=False)
    assert refused.returncode == 1
    assert "database.dump: missing or changed since the backup was made" in refused.stderr
    assert _counts_or_none(_url(target)) is None  # nothing was loaded

    in_use = backoffice(env, "backup", "restore", str(drive["folder"]), "--into",
                        _url(drive["source"]), check=False)
    assert in_use.returncode == 1
    assert "not empty" in in_use.stderr


def _counts_or_none(url: str):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar_one()
    finally:
        engine.dispose()
    return found or None
