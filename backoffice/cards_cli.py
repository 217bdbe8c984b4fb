"""`backoffice cards keygen | public-key`: the membership cards' signing key (docs/cards.md)."""

from __future__ import annotations

import base64

import click
from flask.cli import with_appcontext

from backoffice.audit import verify as key_files
from backoffice.services import cards


@click.group("cards")
def cards_cli() -> None:
    """The membership cards' signing key."""


@cards_cli.command("keygen")
@with_appcontext
def keygen() -> None:
    """Make the card signing key at CARD_SIGNING_KEY's path (once). Keep it on the app
    hosts only; when it replaces a key, list the old one's public key in CARD_TRUSTED_KEYS."""
    path = cards._key_path()
    if path.exists():
        raise click.ClickException(
            f"{path} exists already; refusing to replace it. To rotate: note its public key "
            "(`backoffice cards public-key`), move the file away, then run this again.")
    public = key_files.new_key(path)
    click.echo(f"Card signing key written to {path} (mode 600). Public key: {public}\n"
               "Cards signed from now on verify with it; /check/key.json publishes it.")


@cards_cli.command("public-key")
@with_appcontext
def public_key() -> None:
    """Print the current card key's public key (base64): before replacing the key, add it
    to CARD_TRUSTED_KEYS so that the cards it signed keep verifying."""
    path = cards._key_path()
    if not path.is_file():
        raise click.ClickException(f"No card signing key at {path}: run `backoffice cards "
                                   "keygen`.")
    raw = cards.raw_public(key_files.load_private_key(path).public_key())
    click.echo(base64.b64encode(raw).decode("ascii"))
