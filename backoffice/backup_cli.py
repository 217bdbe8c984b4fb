"""`backoffice backup create DIR` and `backoffice backup restore BACKUP --into URL`.

A backup is a folder: the database as `pg_dump`'s custom format (run as the tables'
owner, MIGRATION_DATABASE_URL), the stored files when they live on this host's disk
(the filesystem storage; the database storage is inside the dump), a signed checkpoint
of the audit chain when this host has the signing key, and SHA256SUMS of each part.
The signing key itself is never in it: it is kept apart (docs/backup.md), so whoever
holds a backup cannot sign a forged checkpoint.

A restore loads a backup into a fresh, empty database, re-grants the app's role and
then proves the copy: the audit chain verifies (up to the checkpoint, when the key that
signed it is trusted here) and every member row matches its last recorded state.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL, make_url

from backoffice.audit.cli import key_path

DUMP = "database.dump"
FILES = "files.tar"
CHECKPOINT = "checkpoint.json"
SUMS = "SHA256SUMS"
# What the filesystem storage keeps (docs/storage.md); never the instance folder's
# config.py, keys or SQLite file, which may share its folder.
STORAGE_FOLDERS = ("photos", "imports", "exports", "manifests")


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore, the password in the environment
    (never on the command line, where `ps` would show it)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = ["--dbname", url.database or ""]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    return args, env


def _owner_url() -> URL:
    url = make_url(current_app.config.get("MIGRATION_DATABASE_URL")
                   or current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        raise click.ClickException("Backups are for PostgreSQL; copy the SQLite file instead "
                                   "(with the app stopped).")
    return url


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise click.ClickException(f"{name} is missing: apt-get install postgresql-client.")
    return found


def _run(command: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    # Our own argument lists (pg_dump/pg_restore found on PATH), never a shell.
    done = subprocess.run(command, env=env, capture_output=True, text=True,  # noqa: S603
                          check=False)
    if done.returncode:
        raise click.ClickException(f"{what} failed:\n{done.stderr.strip()[-2000:]}")
    return done


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _filesystem_root() -> Path | None:
    from backoffice import storage
    from backoffice.storage.filesystem import FilesystemStorage

    backend = storage.backend()
    return backend.root if isinstance(backend, FilesystemStorage) else None


@click.group("backup")
def backup_cli() -> None:
    """Back up the database and stored files; restore a backup into a fresh database."""


@backup_cli.command("create")
@click.argument("target", type=click.Path(file_okay=False))
@click.option("--no-checkpoint", is_flag=True,
              help="Do not sign a checkpoint of the audit chain into the backup.")
@with_appcontext
def create(target: str, no_checkpoint: bool) -> None:
    """Write a new backup folder under TARGET (e.g. /var/backups/sadasya)."""
    url = _owner_url()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    final = Path(target) / f"sadasya-{stamp}"
    partial = final.with_name(final.name + ".partial")
    if final.exists() or partial.exists():
        raise click.ClickException(f"{final} exists already.")
    partial.mkdir(parents=True, mode=0o700)
    try:
        if not no_checkpoint and key_path().exists():
            # Signed first: the dump then holds at least the events the checkpoint covers.
            _checkpoint(partial / CHECKPOINT)
        args, env = _libpq(url)
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
              "--file", str(partial / DUMP), *args], env, "pg_dump")
        root = _filesystem_root()
        if root is not None:
            with tarfile.open(partial / FILES, "w") as archive:
                for folder in STORAGE_FOLDERS:
                    if (root / folder).is_dir():
                        archive.add(root / folder, arcname=folder)
        parts = sorted(p.name for p in partial.iterdir())
        (partial / SUMS).write_text("".join(f"{_sha256(partial / name)}  {name}\n"
                                            for name in parts), encoding="utf-8")
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    click.echo(f"Backup written to {final} ({', '.join(parts)}). The audit signing key is "
               f"not in it: keep that apart.")


def _checkpoint(out: Path) -> None:
    from backoffice.audit import verify as chain_verify
    from backoffice.extensions import db

    try:
        data = chain_verify.checkpoint(db.session, chain_verify.load_private_key(key_path()))
    except ValueError as error:
        raise click.ClickException(f"No backup: {error}") from None
    finally:
        db.session.rollback()
    chain_verify.write_checkpoint(data, out)


def _check_sums(folder: Path) -> list[str]:
    sums = folder / SUMS
    if not sums.is_file():
        raise click.ClickException(f"{folder} has no {SUMS}: not a complete backup.")
    names = []
    for line in sums.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        part = folder / name
        if "/" in name or not part.is_file() or _sha256(part) != digest:
            raise click.ClickException(f"{name}: missing or changed since the backup was "
                                       f"made; refusing to restore it.")
        names.append(name)
    if DUMP not in names:
        raise click.ClickException(f"{folder} has no {DUMP}.")
    return names


def _refuse_non_empty(url: URL) -> None:
    engine = create_engine(url, poolclass=pool.NullPool, hide_parameters=True)
    try:
        with engine.connect() as connection:
            tables = connection.execute(text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar_one()
    finally:
        engine.dispose()
    if tables:
        raise click.ClickException("The target database is not empty; restore into a new one "
                                   "(createdb -O <owner> ...).")


def _restore_list(dump: Path, env: dict[str, str]) -> str:
    """pg_restore's table of contents without COMMENT ON EXTENSION, which only the
    extension's owner (a superuser) may run; the tables' owner restores the rest."""
    listing = _run([_tool("pg_restore"), "--list", str(dump)], env, "pg_restore --list").stdout
    return "".join(line + "\n" for line in listing.splitlines()
                   if " COMMENT - EXTENSION " not in line)


def _backoffice(args: list[str], url: URL) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["BACKOFFICE_DATABASE_URL"] = env["BACKOFFICE_MIGRATION_DATABASE_URL"] = \
        url.render_as_string(hide_password=False)
    return subprocess.run(  # noqa: S603 - this interpreter and our own arguments
        [sys.executable, "-c", "from backoffice.console import main; main()", *args],
        env=env, capture_output=True, text=True, check=False)


@backup_cli.command("restore")
@click.argument("backup", type=click.Path(exists=True, file_okay=False))
@click.option("--into", "into", required=True,
              help="The fresh database, as its owner: postgresql+psycopg://owner@host/db.")
@click.option("--app-role", help="The app's role to grant on the copy (db grant-app-role).")
@with_appcontext
def restore(backup: str, into: str, app_role: str | None) -> None:
    """Restore BACKUP into an empty database, then verify the copy's audit log."""
    folder = Path(backup)
    parts = _check_sums(folder)
    url = make_url(into)
    if url.get_backend_name() != "postgresql":
        raise click.ClickException("--into must be a PostgreSQL URL.")
    _refuse_non_empty(url)
    args, env = _libpq(url)
    listing = folder / ".restore-list"
    listing.write_text(_restore_list(folder / DUMP, env), encoding="utf-8")
    try:
        _run([_tool("pg_restore"), "--exit-on-error", "--single-transaction", "--no-owner",
              "--no-privileges", "--use-list", str(listing), *args, str(folder / DUMP)],
             env, "pg_restore")
    finally:
        listing.unlink(missing_ok=True)
    click.echo("Database restored.")
    if FILES in parts:
        root = _filesystem_root()
        if root is None:
            raise click.ClickException("The backup holds stored files but STORAGE_BACKEND here "
                                       "is not filesystem: set STORAGE_DIR and run again.")
        with tarfile.open(folder / FILES) as archive:
            archive.extractall(root, filter="data")
        click.echo(f"Stored files restored under {root}.")
    steps = [["audit", "verify"], ["audit", "verify", "--state"]]
    if CHECKPOINT in parts and current_app.config["AUDIT_TRUSTED_KEYS"]:
        steps.insert(1, ["audit", "verify", "--checkpoint", str(folder / CHECKPOINT)])
    elif CHECKPOINT in parts:
        click.echo("The backup's checkpoint is not checked: AUDIT_TRUSTED_KEYS is empty here.")
    if app_role:
        steps.insert(0, ["db", "grant-app-role", app_role])
    for step in steps:
        done = _backoffice(step, url)
        click.echo(done.stdout.strip())
        if done.returncode:
            raise click.ClickException(f"`backoffice {' '.join(step[:3])}` failed on the copy: "
                                       f"{done.stderr.strip()[-1000:]}")
    click.echo("The copy verifies.")
