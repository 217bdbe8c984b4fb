"""append-only, hash-chained audit log

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 21:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Append-only, on both databases (docs/audit-log.md). On PostgreSQL
# TRUNCATE fires no row trigger, hence its own; ENABLE ALWAYS keeps both
# firing under session_replication_role = replica.
POSTGRES = [
    """CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS
       $$BEGIN RAISE EXCEPTION 'append-only: % refused on audit_event', TG_OP; END$$""",
    """CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit_event
       FOR EACH ROW EXECUTE FUNCTION audit_refuse()""",
    """CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_event
       FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()""",
    "ALTER TABLE audit_event ENABLE ALWAYS TRIGGER audit_no_update_delete",
    "ALTER TABLE audit_event ENABLE ALWAYS TRIGGER audit_no_truncate",
]
SQLITE = [
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'append-only: UPDATE refused on audit_event'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'append-only: DELETE refused on audit_event'); END""",
]


def upgrade():
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table('audit_event',
    sa.Column('seq', big, autoincrement=False, nullable=False),
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
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_event')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_audit_event_prev_hash')),
    sa.UniqueConstraint('row_hash', name=op.f('uq_audit_event_row_hash'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_action', ['action', 'seq'], unique=False)
        batch_op.create_index('ix_audit_event_actor', ['actor_user_id', 'seq'], unique=False)
        batch_op.create_index('ix_audit_event_entity', ['entity_type', 'entity_id', 'seq'],
                              unique=False)
        batch_op.create_index('ix_audit_event_unit', ['unit_id', 'seq'], unique=False)
    head = op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', big, nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "row_hash": "0" * 64}])
    for statement in (POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_no_update_delete ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_no_truncate ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_refuse()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        for index in ('ix_audit_event_unit', 'ix_audit_event_entity', 'ix_audit_event_actor',
                      'ix_audit_event_action'):
            batch_op.drop_index(index)
    op.drop_table('audit_event')
