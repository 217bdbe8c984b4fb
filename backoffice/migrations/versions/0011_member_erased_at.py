"""member.erased_at: personal data erased at the member's request

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 00:45:00

A plain ADD / DROP COLUMN on both databases: batch mode would copy the member
table on SQLite and lose its tally and daily-count triggers (0004, 0008).
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('member', sa.Column('erased_at', sa.DateTime(), nullable=True))


def downgrade():
    op.execute("ALTER TABLE member DROP COLUMN erased_at")  # SQLite 3.35+ too
