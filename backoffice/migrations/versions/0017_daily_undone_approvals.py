"""member_daily: an approval undone is taken off its day's count

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 10:55:00

"""

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    pass  # filled in next


def downgrade():
    pass
