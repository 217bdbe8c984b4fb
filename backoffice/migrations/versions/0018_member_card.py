"""member_card: the membership cards issued, for reissue and the revocation list

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 11:50:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
