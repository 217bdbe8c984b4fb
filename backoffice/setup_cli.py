"""`backoffice setup`: a new deployment's first steps after `db upgrade` — the shipped
unit hierarchy and the first state admin, who appoints everyone else in the app."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import RoleAssignment, StaffUser
from backoffice.services.staff import MIN_PASSWORD
from backoffice.services.units import load_units, read_units_csv

STATE_ROLE = "state_admin"


@click.command("setup")
@click.option("--admin-email", required=True, help="The first state admin's login.")
@click.option("--admin-name", required=True, help="Their full name.")
@click.password_option("--admin-password", envvar="SADASYA_ADMIN_PASSWORD",
                       prompt="The state admin's password",
                       help="Asked for when not given (or SADASYA_ADMIN_PASSWORD).")
@with_appcontext
def setup_command(admin_email: str, admin_name: str, admin_password: str) -> None:
    """Load the shipped units and make the first state admin. Running it again changes
    nothing that exists (units are matched by code, the admin by email). The audit log
    records the new account and role as it records every staff change."""
    from backoffice.auth.passwords import hash_password
    from backoffice.services.validation import clean_name

    email = admin_email.strip().lower()
    if len(admin_password) < MIN_PASSWORD:
        raise click.ClickException(f"The password needs at least {MIN_PASSWORD} characters.")
    by_code = load_units(read_units_csv())
    state = next(unit for unit in by_code.values() if unit.level == "state")
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is None:
        user = StaffUser(full_name=clean_name(admin_name), email=email,
                         password_hash=hash_password(admin_password))
        db.session.add(user)
        db.session.flush()
        db.session.add(RoleAssignment(user_id=user.id, role=STATE_ROLE, unit_id=state.id))
        made = "made"
    else:
        made = "exists already; left as it is"
    db.session.commit()
    click.echo(f"Units: {len(by_code)}. State admin {email}: {made}. They set up two-step "
               "login at their first login, then appoint the others in the app.")
