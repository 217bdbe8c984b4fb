"""`backoffice setup`: a new deployment's units and first state admin (README, Deploying)."""

from sqlalchemy import func, select

from backoffice.auth.passwords import verify_password
from backoffice.extensions import db
from backoffice.models import AuditEvent, RoleAssignment, StaffUser, Unit
from backoffice.setup_cli import setup_command

ARGS = ["--admin-email", "Admin@Party.example", "--admin-name", "राजेश  वर्मा",
        "--admin-password", "a long first password"]


def test_setup_loads_the_units_and_makes_one_state_admin_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(setup_command, ARGS)
    assert first.exit_code == 0, first.output
    assert "admin@party.example: made" in first.output
    admin = db.session.scalar(select(StaffUser).where(StaffUser.email == "admin@party.example"))
    assert admin.full_name == "राजेश वर्मा"
    assert verify_password(admin.password_hash, "a long first password")
    role = db.session.scalar(select(RoleAssignment).where(RoleAssignment.user_id == admin.id))
    assert role.role == "state_admin" and db.session.get(Unit, role.unit_id).level == "state"
    units = db.session.scalar(select(func.count()).select_from(Unit))
    assert units > 30  # the shipped divisions, districts and blocks
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == "staff", AuditEvent.entity_id == admin.id))

    again = runner.invoke(setup_command, [*ARGS[:-1], "another password entirely"])
    assert again.exit_code == 0 and "exists already" in again.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Unit)) == units
    assert verify_password(db.session.get(StaffUser, admin.id).password_hash,
                           "a long first password")


def test_a_short_password_is_refused_before_anything_is_written(app):
    result = app.test_cli_runner().invoke(setup_command, [*ARGS[:-1], "short"])
    assert result.exit_code != 0 and "at least 10 characters" in result.output
    assert db.session.scalar(select(func.count()).select_from(StaffUser)) == 0
