"""`backoffice audit verify [--checkpoint FILE | --state] | chain | baseline-state |
checkpoint | keygen`."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from backoffice import audit
from backoffice.audit import chain as audit_chain
from backoffice.audit import state as row_state
from backoffice.audit import verify as chain_verify
from backoffice.extensions import db
from backoffice.models import Member


def key_path() -> Path:
    configured = current_app.config.get("AUDIT_SIGNING_KEY")
    return Path(configured) if configured else Path(current_app.instance_path) / \
        "audit-signing-key.pem"


@click.group("audit")
def audit_cli() -> None:
    """Check the audit log, or sign a checkpoint of it."""


@audit_cli.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False),
              help="A signed checkpoint: fail if anything up to it was rewritten. Only "
                   "checkpoints signed by a key in AUDIT_TRUSTED_KEYS are accepted.")
@click.option("--state", "check_state", is_flag=True,
              help="Instead: check every member row against its last recorded state and "
                   "name each row no event explains (edits made behind the app).")
@with_appcontext
def verify(checkpoint_file: str | None, check_state: bool) -> None:
    """Recompute every hash of the chain; name the first broken position."""
    if check_state:
        _verify_state()
        return
    if checkpoint_file:
        try:
            data = json.loads(Path(checkpoint_file).read_text(encoding="utf-8"))
            scope = f"up to checkpoint {int(data['seq'])}"
        except (ValueError, TypeError, KeyError, UnicodeDecodeError):
            raise click.ClickException(f"{checkpoint_file} is not a checkpoint file.") from None
        report = chain_verify.verify_checkpoint(db.session, data,
                                                current_app.config["AUDIT_TRUSTED_KEYS"])
    else:
        report = chain_verify.verify_chain(db.session)
        scope = "whole chain"
    waiting = (f" {report.pending} events committed and waiting to be chained, the oldest "
               f"from {report.pending_since} UTC (`backoffice audit chain` chains them now)."
               if report.pending else "")
    if report.ok:
        click.echo(f"OK: {report.checked} events verified ({scope}).{waiting}")
        return
    if waiting:
        click.echo(waiting.strip(), err=True)
    position = f" at position {report.broken_at}" if report.broken_at is not None else ""
    raise click.ClickException(f"BROKEN{position}: {report.problem} ({report.checked} events "
                               f"verified before it).")


@audit_cli.command("chain")
@with_appcontext
def chain() -> None:
    """Chain the events that wait in audit_pending (left by a crash between a commit and
    its chaining; any later commit with events chains them too)."""
    done = audit_chain.chain_all(db.engine)
    click.echo(f"Chained {done} waiting events.")


def _verify_state() -> None:
    counts = {"members": 0}
    found = 0
    for finding in row_state.verify_state(db.session, counts):
        found += 1
        click.echo(f"member {finding.member_id}: {finding.problem}")
    db.session.rollback()
    if found:
        raise click.ClickException(f"{found} member(s) that no event explains "
                                   f"({counts['members']} rows checked).")
    click.echo(f"OK: {counts['members']} member rows match their last recorded state.")


@audit_cli.command("baseline-state")
@click.option("--reason", required=True,
              help="Why (e.g. the upgrade that began recording states); kept in the log.")
@with_appcontext
def baseline_state(reason: str) -> None:
    """Record, once, the state of each member row the log has no state for yet (rows
    recorded before states were kept). Run it right after upgrading, when the register
    is known good: it vouches for the rows as they are."""
    reason = " ".join(reason.split())[:500]
    if not reason:
        raise click.ClickException("Give a reason.")
    last = db.session.scalar(select(func.max(Member.id))) or 0
    done = 0
    for lo in range(1, last + 1, row_state.BATCH):
        missing = row_state.unattested(db.session, lo, lo + row_state.BATCH - 1)
        for member_id, block_id, had_events in missing:
            audit.record(row_state.BASELINE, entity_type="member", entity_id=member_id,
                         unit_id=block_id, reason=reason, details={"had_events": had_events})
        db.session.commit()
        done += len(missing)
    click.echo(f"Recorded the state of {done} member rows.")


@audit_cli.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False), help="Where to write the checkpoint.")
@with_appcontext
def checkpoint(out: str | None) -> None:
    """Sign the chain's head with the Ed25519 key kept outside the database."""
    path = key_path()
    if not path.exists():
        raise click.ClickException(f"No signing key at {path}: run `backoffice audit keygen`.")
    try:
        data = chain_verify.checkpoint(db.session, chain_verify.load_private_key(path))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    target = Path(out) if out else Path(current_app.instance_path) / "checkpoints" / \
        f"checkpoint-{data['seq']:09d}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    chain_verify.write_checkpoint(data, target)
    click.echo(f"Checkpoint of position {data['seq']} written to {target}. Hand a copy to "
               f"people outside the system.")


@audit_cli.command("keygen")
@with_appcontext
def keygen() -> None:
    """Make the signing key (once). Keep it off the database server; publish the public key."""
    path = key_path()
    if path.exists():
        raise click.ClickException(f"{path} exists already; refusing to replace it.")
    click.echo(f"Signing key written to {path} (mode 600). Public key: "
               f"{chain_verify.new_key(path)}\nAdd the public key to AUDIT_TRUSTED_KEYS "
               f"wherever checkpoints are verified.")
