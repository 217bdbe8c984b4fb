"""`backoffice photos clean`: clean the photos kept before uploads were cleaned."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Member
from backoffice.services import erasure, photos
from backoffice.services.errors import ServiceError

BATCH = 200


@click.group("photos")
def photos_cli() -> None:
    """Member photos."""


@photos_cli.command("clean")
@with_appcontext
def clean() -> None:
    """Strip EXIF, GPS and other metadata from photos kept before this was done on
    upload, shrink them, and give them the picture hash the reused-photo report
    reads. Safe to run again: photos already done are skipped."""
    done = refused = 0
    after = 0
    while True:
        members = db.session.scalars(
            select(Member).where(Member.id > after, Member.photo_path.is_not(None),
                                 Member.photo_phash.is_(None))
            .order_by(Member.id).limit(BATCH)).all()
        if not members:
            break
        old = []
        for member in members:
            try:
                replaced = photos.clean_kept(member)
            except ServiceError:
                refused += 1  # not readable as a photo: left as it is, for a person to look at
                continue
            done += 1
            if replaced:
                old.append(replaced)
        after = members[-1].id
        for reference in old:  # with the commit that stops pointing at them
            erasure.discard_photo(reference)
        db.session.commit()
    click.echo(f"Photos cleaned: {done}; not readable as photos, left as they were: {refused}.")
