"""recent-signup indexes carry the enroller (index-only leaderboards)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 00:20:00

The dashboard's enroller leaderboard counts a district's signups of the last
7 days per enroller. With (district_id, created_at) alone it fetched every
matching row from the heap: at 1,000,000 members, 12,000 rows over 10,600
heap pages, 60-80 ms. With recorded_by_id as a trailing key column (which
SQLite, unlike PostgreSQL's INCLUDE, also understands) it is an index-only scan.
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # Plain DROP/CREATE INDEX (no batch mode): the member table keeps its triggers on SQLite.
    op.drop_index('ix_member_block_recent', table_name='member')
    op.drop_index('ix_member_district_recent', table_name='member')
    op.create_index('ix_member_block_recent', 'member',
                    ['block_id', 'created_at', 'recorded_by_id'])
    op.create_index('ix_member_district_recent', 'member',
                    ['district_id', 'created_at', 'recorded_by_id'])


def downgrade():
    op.drop_index('ix_member_district_recent', table_name='member')
    op.drop_index('ix_member_block_recent', table_name='member')
    op.create_index('ix_member_block_recent', 'member', ['block_id', 'created_at'])
    op.create_index('ix_member_district_recent', 'member', ['district_id', 'created_at'])
