"""The `backoffice` console script: Flask's CLI bound to create_app."""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from backoffice import create_app
from backoffice.settings import ConfigError

cli = FlaskGroup(
    create_app=create_app,
    help="Sadasya backoffice. `backoffice run` serves it; `backoffice db upgrade` migrates.",
)


def main() -> None:
    try:
        cli.main()
    except ConfigError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
