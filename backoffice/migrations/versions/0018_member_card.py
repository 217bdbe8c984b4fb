"""member_card: the membership cards issued, for reissue and the revocation list

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 11:50:00

A card is a signed statement about a member (services/cards.py). The row keeps
its random public id (what the revocation list names), when it was issued and
superseded, and the statement's SHA-256: never the statement or any personal value.
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "member_card",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("card_id", sa.String(16), nullable=False, unique=True),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id"), nullable=False,
                  index=True),
        sa.Column("issued_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
        sa.Column("statement_sha256", sa.String(64), nullable=False),
    )


def downgrade():
    op.drop_table("member_card")
