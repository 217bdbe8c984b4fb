"""member_search_key: a search key and a cross-script duplicate key per member

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 10:20:00

(Placeholder claimed early; filled in below.)
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
