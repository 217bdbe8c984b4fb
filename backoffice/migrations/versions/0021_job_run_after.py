"""job.run_after: a job that must not run before a time (a deferred SMS notice)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 13:45:00

A plain nullable ADD COLUMN on both databases. A queued job with ``run_after`` in
the future is not claimed by a delivery before then; the workers' maintenance hands
it to the queue once it is due (docs/jobs.md). Notices over the SMS sending limits
wait this way (docs/notifications.md).
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("job", sa.Column("run_after", sa.DateTime, nullable=True))


def downgrade():
    op.drop_column("job", "run_after")
