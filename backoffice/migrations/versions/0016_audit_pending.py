"""audit_pending: events written with their change, chained after the commit

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 10:30:00

On PostgreSQL a transaction writes its audit events into audit_pending and
commits; one appender at a time then moves them into the chain (audit_event,
with their position and hashes) and deletes them, in one transaction
(docs/audit-log.md, "Throughput"). audit_pending is append-only like the log,
except that a row may be deleted once the chain holds it: the DELETE trigger
looks for its chained copy (same pending id, same content). audit_event gains
pending_id, the bookkeeping that trigger reads; it is not hashed, so no
existing hash changes.

Downgrade refuses while events are pending: chain them first
(`backoffice audit chain`).
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

CONTENT = ("occurred_at", "actor_user_id", "actor_roles", "source_ip", "request_id",
           "session_ref", "action", "entity_type", "entity_id", "unit_id", "changes",
           "reason", "details")


def _chained(same: str) -> str:
    """SQL: the chain holds this pending row (OLD) with the same content."""
    return ("SELECT 1 FROM audit_event e WHERE e.pending_id = OLD.id AND "  # noqa: S608
            + " AND ".join(f"e.{c} {same} OLD.{c}" for c in CONTENT))  # constants only


# ENABLE ALWAYS: they fire under session_replication_role = replica too. The DELETE
# check is a constraint trigger deferred to the commit: the appender deletes, inserts
# and moves the head in one statement, whose parts do not see each other's rows.
POSTGRES = [
    """CREATE FUNCTION audit_pending_refuse() RETURNS trigger LANGUAGE plpgsql AS
       $$BEGIN RAISE EXCEPTION 'append-only: % refused on audit_pending', TG_OP; END$$""",
    f"""CREATE FUNCTION audit_pending_chained() RETURNS trigger LANGUAGE plpgsql AS
       $$BEGIN
         IF NOT EXISTS ({_chained('IS NOT DISTINCT FROM')}) THEN
           RAISE EXCEPTION 'append-only: DELETE refused on audit_pending (not chained)';
         END IF;
         RETURN NULL;
       END$$""",
    """CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
       FOR EACH ROW EXECUTE FUNCTION audit_pending_refuse()""",
    """CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON audit_pending
       FOR EACH STATEMENT EXECUTE FUNCTION audit_pending_refuse()""",
    """CREATE CONSTRAINT TRIGGER audit_pending_chained AFTER DELETE ON audit_pending
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_pending_chained()""",
    "ALTER TABLE audit_pending ENABLE ALWAYS TRIGGER audit_pending_no_update",
    "ALTER TABLE audit_pending ENABLE ALWAYS TRIGGER audit_pending_no_truncate",
    "ALTER TABLE audit_pending ENABLE ALWAYS TRIGGER audit_pending_chained",
]
SQLITE = [
    """CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
       BEGIN SELECT RAISE(ABORT, 'append-only: UPDATE refused on audit_pending'); END""",
    f"""CREATE TRIGGER audit_pending_no_delete BEFORE DELETE ON audit_pending
       WHEN NOT EXISTS ({_chained('IS')})
       BEGIN SELECT RAISE(ABORT, 'append-only: DELETE refused on audit_pending (not chained)');
       END""",
]


def upgrade():
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table('audit_pending',
    sa.Column('id', big, autoincrement=True, nullable=False),
    sa.Column('occurred_at', sa.String(length=32), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_roles', sa.Text(), nullable=False),
    sa.Column('source_ip', sa.String(length=45), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('session_ref', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity_type', sa.String(length=20), nullable=True),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('changes', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_pending')),
    sqlite_autoincrement=True,
    )
    # A plain ADD COLUMN (no table rebuild on SQLite: audit_event's triggers stay).
    op.add_column('audit_event', sa.Column('pending_id', big, nullable=True))
    op.create_index('ix_audit_event_pending_id', 'audit_event', ['pending_id'], unique=True)
    for statement in (POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE):
        op.execute(statement)


def downgrade():
    waiting = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_pending")).scalar()
    if waiting:
        raise RuntimeError(f"{waiting} audit events are waiting to be chained: run "
                           "`backoffice audit chain` first, or they would be lost")
    if op.get_bind().dialect.name == "postgresql":
        for trigger in ("audit_pending_no_update", "audit_pending_no_truncate",
                        "audit_pending_chained"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON audit_pending")
        op.execute("DROP FUNCTION IF EXISTS audit_pending_refuse()")
        op.execute("DROP FUNCTION IF EXISTS audit_pending_chained()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_pending_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_pending_no_delete")
    op.drop_index('ix_audit_event_pending_id', table_name='audit_event')
    op.drop_column('audit_event', 'pending_id')
    op.drop_table('audit_pending')
