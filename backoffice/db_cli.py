"""`backoffice db grant-app-role ROLE`: what the app's own PostgreSQL role may do.

The app connects as a role that owns nothing (docs/postgresql.md): it reads and writes
the app's tables, but only appends to the audit log. Run by the tables' owner (the
migration role), after every `backoffice db upgrade` (new tables need their grants).
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import Connection

from backoffice.extensions import db


def grant_statements(role: str) -> list[str]:
    """The grants, ROLE already quoted; the chain UPDATEs its head row, never its events."""
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_event FROM {role}",
        f"REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_head FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}",
    ]


def grant_app_role(connection: Connection, role: str) -> None:
    """Grant ROLE the app's rights; refuse a role that could undo the audit log's guards."""
    found = connection.execute(text(
        "SELECT rolsuper OR rolcreaterole OR rolcreatedb, rolbypassrls, "
        "rolname = current_user FROM pg_roles "
        "WHERE rolname = :role"), {"role": role}).first()
    if found is None:
        raise click.ClickException(f"No role {role!r} on this server: CREATE ROLE it first.")
    powerful, bypass, is_self = found
    owned = connection.execute(text(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = :role"),
        {"role": role}).scalar_one()
    if powerful or bypass or is_self or owned:
        raise click.ClickException(
            f"Refusing: {role!r} is a superuser, may create roles or databases, bypasses row "
            "security, owns tables or is the role running this command; the app's role must "
            "own nothing.")
    quoted = connection.dialect.identifier_preparer.quote(role)
    for statement in grant_statements(quoted):
        connection.exec_driver_sql(statement)


@click.command("grant-app-role")
@click.argument("role")
@with_appcontext
def grant_app_role_command(role: str) -> None:
    """Grant the app's PostgreSQL ROLE what it needs and no more (run as the owner)."""
    url = current_app.config.get("MIGRATION_DATABASE_URL")
    engine = (create_engine(url, poolclass=pool.NullPool, hide_parameters=True)
              if url else db.engine)
    if engine.dialect.name != "postgresql":
        raise click.ClickException("Roles and grants are for PostgreSQL; SQLite has none.")
    with engine.begin() as connection:
        grant_app_role(connection, role)
    click.echo(f"Granted {role}: read and write the app's tables, append to the audit log.")
