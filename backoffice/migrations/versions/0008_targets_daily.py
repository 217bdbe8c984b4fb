"""unit targets, and daily counts of recorded, verified and approved members

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 21:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# A day in India: the UTC timestamp moved by 5 h 30 min.
SQLITE_DAY = "date({column}, '+330 minutes')"
PG_DAY = "(({column}) + interval '330 minutes')::date"


def _sqlite_add(event, column):
    day = SQLITE_DAY.format(column=column)
    return (f"INSERT INTO member_daily (block_id, day, event, n) VALUES (NEW.block_id, {day}, "
            f"'{event}', 1) ON CONFLICT (block_id, day, event) DO UPDATE SET n = n + 1;")


SQLITE = [
    "CREATE TRIGGER member_daily_insert AFTER INSERT ON member BEGIN "
    + _sqlite_add("recorded", "NEW.created_at")
    + " INSERT INTO member_daily (block_id, day, event, n) SELECT NEW.block_id, "
    + SQLITE_DAY.format(column="NEW.verified_at") + ", 'verified', 1 "
    "WHERE NEW.verified_at IS NOT NULL ON CONFLICT (block_id, day, event) DO UPDATE SET n = n + 1;"
    " INSERT INTO member_daily (block_id, day, event, n) SELECT NEW.block_id, "
    + SQLITE_DAY.format(column="NEW.approved_at") + ", 'approved', 1 "
    "WHERE NEW.status = 'approved' AND NEW.approved_at IS NOT NULL "
    "ON CONFLICT (block_id, day, event) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER member_daily_verified AFTER UPDATE OF verified_at ON member "
    "WHEN OLD.verified_at IS NULL AND NEW.verified_at IS NOT NULL BEGIN "
    + _sqlite_add("verified", "NEW.verified_at") + " END",
    "CREATE TRIGGER member_daily_approved AFTER UPDATE OF status ON member "
    "WHEN NEW.status = 'approved' AND OLD.status <> 'approved' BEGIN "
    + _sqlite_add("approved", "COALESCE(NEW.approved_at, NEW.updated_at)") + " END",
]

_PG_ADD = """INSERT INTO member_daily (block_id, day, event, n)
  SELECT block_id, {day}, '{event}', count(*) FROM {rows} GROUP BY block_id, {day}
  ON CONFLICT (block_id, day, event) DO UPDATE SET n = member_daily.n + EXCLUDED.n;"""


def _pg(event, column, rows):
    return _PG_ADD.format(day=PG_DAY.format(column=column), event=event, rows=rows)


POSTGRES = [
    "CREATE FUNCTION member_daily_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    + _pg("recorded", "created_at", "new_rows")
    + _pg("verified", "verified_at", "(SELECT * FROM new_rows WHERE verified_at IS NOT NULL) v")
    + _pg("approved", "approved_at",
          "(SELECT * FROM new_rows WHERE status = 'approved' AND approved_at IS NOT NULL) a")
    + " RETURN NULL; END $$",
    "CREATE FUNCTION member_daily_on_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    + _pg("verified", "verified_at", "(SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id "
          "WHERE o.verified_at IS NULL AND n.verified_at IS NOT NULL) v")
    + _pg("approved", "COALESCE(approved_at, updated_at)",
          "(SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id "
          "WHERE n.status = 'approved' AND o.status <> 'approved') a")
    + " RETURN NULL; END $$",
    """CREATE TRIGGER member_daily_insert AFTER INSERT ON member
       REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION member_daily_on_insert()""",
    """CREATE TRIGGER member_daily_update AFTER UPDATE ON member
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION member_daily_on_update()""",
]
BACKFILL = [
    ("recorded", "created_at", "1 = 1"),
    ("verified", "verified_at", "verified_at IS NOT NULL"),
    ("approved", "approved_at", "status = 'approved' AND approved_at IS NOT NULL"),
]


def upgrade():
    op.create_table('unit_target',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.Integer(), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('set_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['set_by_id'], ['staff_user.id'], name=op.f('fk_unit_target_set_by_id_staff_user')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_unit_target_unit_id_unit')),
    sa.PrimaryKeyConstraint('unit_id', name=op.f('pk_unit_target'))
    )
    op.create_table('member_daily',
    sa.Column('block_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['block_id'], ['unit.id'], name=op.f('fk_member_daily_block_id_unit')),
    sa.PrimaryKeyConstraint('block_id', 'day', 'event', name=op.f('pk_member_daily'))
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    day = PG_DAY if postgres else SQLITE_DAY
    for event, column, where in BACKFILL:
        expression = day.format(column=column)
        op.execute(f"INSERT INTO member_daily (block_id, day, event, n) SELECT block_id, "
                   f"{expression}, '{event}', count(*) FROM member WHERE {where} "
                   f"GROUP BY block_id, {expression}")
    for statement in (POSTGRES if postgres else SQLITE):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS member_daily_insert ON member")
        op.execute("DROP TRIGGER IF EXISTS member_daily_update ON member")
        op.execute("DROP FUNCTION IF EXISTS member_daily_on_insert()")
        op.execute("DROP FUNCTION IF EXISTS member_daily_on_update()")
    else:
        for trigger in ("member_daily_insert", "member_daily_verified", "member_daily_approved"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.drop_table('member_daily')
    op.drop_table('unit_target')
