"""`backoffice rolls create | freeze | publish | finalise | export`: the returning
officer's steps from the command line, through the same services as the screens."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from backoffice.auth.login import find_staff
from backoffice.extensions import db
from backoffice.models import Unit
from backoffice.services import roll_exports, rolls
from backoffice.services.errors import ServiceError

ACTOR = click.option("--as", "login", required=True,
                     help="The returning officer (email or mobile) acting; audited as them.")


def _actor(login: str):
    user = find_staff(login)
    if user is None or not user.active:
        raise click.ClickException(f"No active staff account {login!r}.")
    return user


def _run(step):
    try:
        result = step()
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from None
    db.session.commit()
    return result


@click.group("rolls")
def rolls_cli() -> None:
    """Membership rolls for the organisational elections."""


@rolls_cli.command("create")
@ACTOR
@click.option("--unit", "unit_code", required=True, help="Unit code, e.g. BLK-BILHA.")
@click.option("--cut-off", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--title", required=True)
@with_appcontext
def create(login, unit_code, cut_off, title):
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise click.ClickException(f"No unit {unit_code!r}.")
    roll = _run(lambda: rolls.create(_actor(login), unit, cut_off.date(), title))
    click.echo(f"Roll {roll.id} created (draft).")


@rolls_cli.command("freeze")
@ACTOR
@click.argument("roll_id", type=int)
@with_appcontext
def freeze(login, roll_id):
    count = _run(lambda: rolls.freeze(_actor(login), roll_id))
    click.echo(f"Roll {roll_id} frozen with {count} members.")


@rolls_cli.command("publish")
@ACTOR
@click.argument("roll_id", type=int)
@click.option("--claims-until", type=click.DateTime(["%Y-%m-%d"]), required=True)
@with_appcontext
def publish(login, roll_id, claims_until):
    _run(lambda: rolls.publish(_actor(login), roll_id, claims_until.date()))
    click.echo(f"Roll {roll_id} published; claims and objections until {claims_until:%d/%m/%Y}.")


@rolls_cli.command("finalise")
@ACTOR
@click.argument("roll_id", type=int)
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, hidden=True)
@with_appcontext
def finalise(login, roll_id, today):
    _run(lambda: rolls.finalise(_actor(login), roll_id,
                                today=today.date() if today else date.today()))
    click.echo(f"Roll {roll_id} is final.")


@rolls_cli.command("export")
@ACTOR
@click.argument("roll_id", type=int)
@click.option("--format", "kind", type=click.Choice(roll_exports.FORMATS), default="csv")
@click.option("--out", type=click.Path(dir_okay=False), required=True)
@with_appcontext
def export(login, roll_id, kind, out):
    """Write the file and, beside it, FILE.manifest.json (rows, SHA-256, checkpoint)."""
    actor = _actor(login)
    roll = _run(lambda: rolls.roll_for(actor, roll_id))
    made = roll_exports.export(actor, roll, kind)
    db.session.commit()  # the export's audit event, before the file is handed over
    roll_exports.sign(roll, made)
    target = Path(out)
    shutil.move(made.path, target)
    manifest = target.with_name(target.name + ".manifest.json")
    manifest.write_text(roll_exports.manifest_json(made.manifest), encoding="utf-8")
    click.echo(f"{made.rows} rows written to {target} (sha256 {made.sha256}); manifest {manifest}")


@click.group("members")
def members_cli() -> None:
    """Members in bulk: the paper-form backlog."""


@members_cli.command("import")
@ACTOR
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--unit", "unit_code", required=True, help="Block or district code.")
@click.option("--receipt-books", required=True, help="Receipt book numbers of these forms.")
@click.option("--commit", "do_commit", is_flag=True,
              help="Commit the valid rows after the check (default: dry run only).")
@click.option("--problems", type=click.Path(dir_okay=False),
              help="Write the refused rows with their reasons to this CSV.")
@with_appcontext
def import_members(login, path, unit_code, receipt_books, do_commit, problems):
    """Check a CSV or XLSX of paper forms (dry run), and with --commit import it."""
    from backoffice.services import imports

    actor = _actor(login)
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    source = Path(path)
    batch = _run(lambda: imports.upload(actor, unit, source.read_bytes(), source.name,
                                        receipt_books))
    batch = _run(lambda: imports.check(actor, batch.id))
    click.echo(f"Batch {batch.id}: {batch.total_rows} rows, {batch.valid_rows} valid, "
               f"{batch.rejected_rows} refused.")
    if problems:
        Path(problems).write_text(imports.problems_csv(batch), encoding="utf-8")
        click.echo(f"Refused rows and reasons: {problems}")
    if do_commit:
        written = _run(lambda: imports.commit(actor, batch.id))
        click.echo(f"Committed {written} members (channel paper).")
