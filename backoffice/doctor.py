"""`backoffice doctor`: check a deployment and print what is wrong.

Each check returns findings (the setting or part at fault, and what to do); the
command prints them and exits 1 when there is any. Output is in English: it is
for the operators who run the command line, not for the backoffice's users. It
prints no secret, URL or exception text (a driver's message can carry a password).

A configuration production refuses never gets this far: the command stops with
that refusal, which names the setting.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from backoffice import checks, sms, storage
from backoffice.audit.cli import key_path
from backoffice.extensions import db
from backoffice.settings import production_risks
from backoffice.sms import GatewayError


@dataclass(frozen=True)
class Finding:
    check: str
    problem: str


def configuration() -> list[Finding]:
    config = current_app.config
    found = []
    if config["ENV"] != "production":
        found.append(Finding("configuration", "ENV is development: not for a deployment."))
        found += [Finding("configuration", message)
                  for unsafe, message in production_risks(config) if unsafe]
    if not key_path().is_file():
        found.append(Finding("audit signing key", "no key file at AUDIT_SIGNING_KEY's path: "
                                                  "run `backoffice audit keygen`."))
    found += card_key()
    return found


def card_key() -> list[Finding]:
    """The first card would fail without a readable Ed25519 key file (docs/cards.md)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from backoffice.audit.verify import load_private_key
    from backoffice.services import cards

    path = cards._key_path()
    if not path.is_file():
        return [Finding("card signing key", "no key file at CARD_SIGNING_KEY's path: run "
                                            "`backoffice cards keygen`.")]
    try:
        usable = isinstance(load_private_key(path), Ed25519PrivateKey)
    except (OSError, ValueError, TypeError):
        usable = False
    return [] if usable else [Finding("card signing key", "the file at CARD_SIGNING_KEY's "
                                                          "path is not an Ed25519 private "
                                                          "key (PEM, no password).")]


def database() -> list[Finding]:
    if checks.database() != checks.OK:
        return [Finding("database", "not reachable with DATABASE_URL.")]
    state = checks.migrations()
    advice = {checks.BEHIND: "behind the code: run `backoffice db upgrade`.",
              checks.AHEAD: "migrated by newer code than this: deploy that code.",
              checks.UNKNOWN: "its migration state cannot be read."}
    return [Finding("migrations", advice[state])] if state in advice else []


def redis() -> list[Finding]:
    return [Finding("redis", f"{setting}: Redis not reachable.")
            for setting, state in checks.redis_states().items() if state != checks.OK]


def file_storage() -> list[Finding]:
    """Write, read back and delete a small file, as a photo upload would."""
    # A name at the storage's top level: on disk no folder is left behind after it.
    name = f"doctor-probe-{secrets.token_hex(8)}"
    data = secrets.token_bytes(64)
    try:
        storage.save(name, data)
        intact = storage.read(name) == data
        storage.delete(name)
        db.session.commit()
    except (OSError, SQLAlchemyError, storage.Missing):
        db.session.rollback()
        return [Finding("storage", "cannot write and read a file (STORAGE_BACKEND, "
                                   "STORAGE_DIR).")]
    return [] if intact else [Finding("storage", "a file read back differs from its write.")]


def database_role() -> list[Finding]:
    """The app's role should own nothing and hold no power over roles or databases."""
    if db.engine.dialect.name != "postgresql":
        return []
    try:
        row = db.session.execute(text(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, "
            "(SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
            "AND tableowner = current_user) FROM pg_roles WHERE rolname = current_user"
        )).one()
    except SQLAlchemyError:
        db.session.rollback()
        return [Finding("database role", "cannot read the app role's attributes.")]
    found = []
    superuser, create_role, create_db, owned = row
    if superuser:
        found.append(Finding("database role", "the app connects as a superuser."))
    if create_role or create_db:
        found.append(Finding("database role", "the app's role may create roles or databases."))
    if owned:
        found.append(Finding("database role", f"the app's role owns {owned} tables (it could "
                                              "alter or drop them); migrate as another role."))
    return found


def sms_gateway() -> list[Finding]:
    gateway = sms.gateway()
    if gateway.name in ("console", "memory"):
        return [Finding("sms", f"SMS_GATEWAY is {gateway.name}: no SMS reaches a phone.")]
    if current_app.config.get("TWILIO_API_BASE_URL"):  # the stack test's stand-in for Twilio
        return [Finding("sms", "TWILIO_API_BASE_URL is set: SMS go to a stand-in on this "
                               "host, not to Twilio; unset it.")]
    try:
        gateway.dry_call()
    except GatewayError as error:
        return [Finding("sms", f"SMS_GATEWAY {gateway.name}: the provider answered "
                               f"{error.reason} ({error.code}) to a call that sends nothing.")]
    return []


CHECKS = (configuration, database, redis, file_storage, database_role, sms_gateway)


def findings() -> list[Finding]:
    found = []
    for check in CHECKS:
        found += check()
    return found


@click.command("doctor")
@with_appcontext
def doctor() -> None:
    """Check this deployment: configuration, database and migrations, Redis, storage, the
    database role, the SMS gateway's credentials. Exits 1 when something is wrong."""
    found = findings()
    for finding in found:
        click.echo(f"PROBLEM {finding.check}: {finding.problem}")
    if found:
        raise click.exceptions.Exit(1)
    click.echo("OK: configuration, database, migrations, Redis, storage, database role and "
               "SMS gateway.")
