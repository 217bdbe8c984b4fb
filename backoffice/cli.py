"""Command line: `backoffice run | db upgrade | demo | ...` (also `flask --app wsgi ...`).

Commands are thin: they call services and commit once at the end.
"""

from __future__ import annotations

import time

import click
import pyotp
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate.cli import db as migrate_cli
from sqlalchemy import func, select

from backoffice.audit.cli import audit_cli, key_path
from backoffice.audit.verify import new_key
from backoffice.auth.login import find_staff
from backoffice.backup_cli import backup_cli
from backoffice.cards_cli import cards_cli
from backoffice.db_cli import grant_app_role_command
from backoffice.doctor import doctor
from backoffice.extensions import db
from backoffice.jobs.worker import maintain_command, worker
from backoffice.models import Member, Unit
from backoffice.photos_cli import photos_cli
from backoffice.rolls_cli import members_cli, rolls_cli
from backoffice.services import demo as demo_service
from backoffice.setup_cli import setup_command


def init_app(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(totp_code)
    app.cli.add_command(audit_cli)
    app.cli.add_command(rolls_cli)
    app.cli.add_command(members_cli)
    app.cli.add_command(worker)
    app.cli.add_command(maintain_command)
    app.cli.add_command(photos_cli)
    app.cli.add_command(doctor)
    app.cli.add_command(setup_command)
    app.cli.add_command(backup_cli)
    app.cli.add_command(cards_cli)
    migrate_cli.add_command(grant_app_role_command)  # `backoffice db grant-app-role`


def _development_only() -> None:
    if current_app.config["ENV"] != "development":
        raise click.ClickException(
            "The demo data is for development only: set BACKOFFICE_ENV=development."
        )


@click.command()
@click.option("--members", type=click.IntRange(min=0), default=None,
              help="How many synthetic members to add (default: DEMO_MEMBERS, 3000).")
@click.option("--seed", type=int, default=2026, help="Random seed, for repeatable data.")
@with_appcontext
def demo(members: int | None, seed: int) -> None:
    """Load the hierarchy, demo logins for every role and synthetic members.

    Run it after `backoffice db upgrade`. Units and logins are created once;
    members are added only while the database has none, unless --members is given.
    """
    _development_only()
    started = time.perf_counter()
    by_code = demo_service.load_hierarchy()
    logins = demo_service.create_demo_staff(by_code, current_app.config["DEMO_PASSWORD"])
    existing = db.session.scalar(select(func.count()).select_from(Member)) or 0
    count = members if members is not None else (
        0 if existing else current_app.config["DEMO_MEMBERS"])
    added = demo_service.seed_members(count, seed=seed + existing) if count else 0
    db.session.commit()
    _demo_signing_key()
    elapsed = time.perf_counter() - started
    units = db.session.scalar(select(func.count()).select_from(Unit))
    click.echo(f"Units: {units}. Members added: {added} in {elapsed:.1f} s "
               f"(total {existing + added}).")
    _print_logins(logins, current_app.config["DEMO_PASSWORD"])


def _demo_signing_key() -> None:
    """In development, a checkpoint key under instance/, so exports carry signed manifests."""
    path = key_path()
    if not path.exists():
        new_key(path)


def _print_logins(logins, password: str) -> None:
    click.echo("\nDemo logins (password for all: " + password + "):")
    width = max(len(login.login) for login in logins)
    for login in logins:
        click.echo(f"  {login.login:<{width}}  {login.role:<18} {login.unit_en} / {login.unit}")
    click.echo("\nState admin and returning officer use two-step login; in development "
               "`backoffice totp-code EMAIL` prints the current code.")


@click.command("totp-code")
@click.argument("login")
@with_appcontext
def totp_code(login: str) -> None:
    """Print the current two-step login code of a demo account (development only)."""
    _development_only()
    user = find_staff(login)
    if user is None or not user.totp_secret:
        raise click.ClickException("No such account with two-step login.")
    click.echo(pyotp.TOTP(user.totp_secret).now())
