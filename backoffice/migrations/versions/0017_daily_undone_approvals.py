"""member_daily: an approval undone is taken off its day's count

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 10:55:00

An approval adds one to its day's "approved" count (0008). Undoing it
(services/workflow.py undo) is the only step from approved back to recorded or
phone_verified; without this trigger the dashboard's chart would still show the
approval taken back, and show a second one if the member is approved again.
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# A day in India: the UTC timestamp moved by 5 h 30 min, as in 0008.
SQLITE = (
    "CREATE TRIGGER member_daily_unapproved AFTER UPDATE OF status ON member "
    "WHEN OLD.status = 'approved' AND NEW.status IN ('recorded', 'phone_verified') BEGIN "
    "UPDATE member_daily SET n = n - 1 WHERE block_id = OLD.block_id AND event = 'approved' "
    "AND day = date(COALESCE(OLD.approved_at, OLD.updated_at), '+330 minutes'); END")
POSTGRES = [
    """CREATE FUNCTION member_daily_on_unapprove() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE member_daily d SET n = d.n - x.n
        FROM (SELECT o.block_id,
                     (COALESCE(o.approved_at, o.updated_at) + interval '330 minutes')::date
                       AS day,
                     count(*) AS n
                FROM old_rows o JOIN new_rows n ON n.id = o.id
               WHERE o.status = 'approved' AND n.status IN ('recorded', 'phone_verified')
               GROUP BY 1, 2) x
       WHERE d.block_id = x.block_id AND d.day = x.day AND d.event = 'approved';
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER member_daily_unapprove AFTER UPDATE ON member
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION member_daily_on_unapprove()""",
]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES:
            op.execute(statement)
    else:
        op.execute(SQLITE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS member_daily_unapprove ON member")
        op.execute("DROP FUNCTION IF EXISTS member_daily_on_unapprove()")
    else:
        op.execute("DROP TRIGGER IF EXISTS member_daily_unapproved")
