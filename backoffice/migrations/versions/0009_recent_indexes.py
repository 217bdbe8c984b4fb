"""indexes for recent signups per block and district

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 21:50:00

"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Plain CREATE INDEX (no batch mode): the member table keeps its triggers on SQLite.
    op.create_index('ix_member_block_recent', 'member', ['block_id', 'created_at'])
    op.create_index('ix_member_district_recent', 'member', ['district_id', 'created_at'])


def downgrade():
    op.drop_index('ix_member_district_recent', table_name='member')
    op.drop_index('ix_member_block_recent', table_name='member')
