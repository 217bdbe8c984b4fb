"""member tallies per block and status, kept by triggers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 21:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

SQLITE = [
    """CREATE TRIGGER member_tally_insert AFTER INSERT ON member BEGIN
         INSERT INTO member_tally (block_id, status, n) VALUES (NEW.block_id, NEW.status, 1)
         ON CONFLICT (block_id, status) DO UPDATE SET n = n + 1;
       END""",
    """CREATE TRIGGER member_tally_update AFTER UPDATE OF status, block_id ON member
       WHEN OLD.status <> NEW.status OR OLD.block_id <> NEW.block_id BEGIN
         UPDATE member_tally SET n = n - 1
          WHERE block_id = OLD.block_id AND status = OLD.status;
         INSERT INTO member_tally (block_id, status, n) VALUES (NEW.block_id, NEW.status, 1)
         ON CONFLICT (block_id, status) DO UPDATE SET n = n + 1;
       END""",
    """CREATE TRIGGER member_tally_delete AFTER DELETE ON member BEGIN
         UPDATE member_tally SET n = n - 1
          WHERE block_id = OLD.block_id AND status = OLD.status;
       END""",
]

# PostgreSQL: statement-level triggers with transition tables, so a bulk
# insert or COPY of a million rows adds one grouped upsert, not a million.
_ADD = """INSERT INTO member_tally (block_id, status, n)
          SELECT block_id, status, count(*) FROM {rows} GROUP BY block_id, status
          ON CONFLICT (block_id, status) DO UPDATE SET n = member_tally.n + EXCLUDED.n;"""
_SUBTRACT = """UPDATE member_tally t SET n = t.n - d.n
               FROM (SELECT block_id, status, count(*) AS n FROM {rows}
                     GROUP BY block_id, status) d
               WHERE t.block_id = d.block_id AND t.status = d.status;"""
_CHANGED = """(SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE o.status <> n.status OR o.block_id <> n.block_id)"""
_CHANGED_NEW = """(SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id
                 WHERE o.status <> n.status OR o.block_id <> n.block_id)"""


def _function(name, body):
    return (f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body} RETURN NULL; END $$")


POSTGRES = [
    _function("member_tally_on_insert", _ADD.format(rows="new_rows")),
    _function("member_tally_on_delete", _SUBTRACT.format(rows="old_rows")),
    _function("member_tally_on_update", _SUBTRACT.format(rows=_CHANGED + " c") + " "
              + _ADD.format(rows=_CHANGED_NEW + " c")),
    """CREATE TRIGGER member_tally_insert AFTER INSERT ON member
       REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION member_tally_on_insert()""",
    """CREATE TRIGGER member_tally_update AFTER UPDATE ON member
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION member_tally_on_update()""",
    """CREATE TRIGGER member_tally_delete AFTER DELETE ON member
       REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION member_tally_on_delete()""",
]
TRIGGERS = ("member_tally_insert", "member_tally_update", "member_tally_delete")
FUNCTIONS = ("member_tally_on_insert", "member_tally_on_delete", "member_tally_on_update")


def upgrade():
    op.create_table('member_tally',
    sa.Column('block_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['block_id'], ['unit.id'], name=op.f('fk_member_tally_block_id_unit')),
    sa.PrimaryKeyConstraint('block_id', 'status', name=op.f('pk_member_tally'))
    )
    op.execute("INSERT INTO member_tally (block_id, status, n) "
               "SELECT block_id, status, count(*) FROM member GROUP BY block_id, status")
    for statement in (POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE):
        op.execute(statement)


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON member" if postgres else ""))
    if postgres:
        for function in FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_table('member_tally')
