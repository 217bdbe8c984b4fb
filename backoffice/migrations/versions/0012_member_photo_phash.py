"""member.photo_phash: the picture hash behind the reused-photo report

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 07:40:00

A plain ADD COLUMN and CREATE INDEX on both databases: batch mode would copy
the member table on SQLite and lose its tally and daily-count triggers (0004,
0008). Photos kept before this revision have no picture hash until
`backoffice photos clean` re-processes them.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('member', sa.Column('photo_phash', sa.String(length=16), nullable=True))
    op.create_index('ix_member_photo_phash', 'member', ['photo_phash'], unique=False)


def downgrade():
    op.drop_index('ix_member_photo_phash', table_name='member')
    op.execute("ALTER TABLE member DROP COLUMN photo_phash")  # SQLite 3.35+ too
