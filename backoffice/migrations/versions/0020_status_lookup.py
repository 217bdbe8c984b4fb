"""join_signup carries /status lookups too: their purpose, code, looked-up key, check time

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 13:45:00

A /status lookup is a public code session like a /join signup (a random handle in
the cookie, the same counts for a member and a stand-in), so it is a row of the same
table (docs/status.md):

- ``purpose``: ``join`` (every existing row) or ``status``;
- ``code_hash``: the HMAC of a status lookup's code (a /join signup's code is the
  member's phone verification's);
- ``lookup_key``: a keyed hash of the membership number or voter ID typed, which its
  limits are counted by;
- ``checked_at``: when the lookup's code was checked (its status page lives a short
  while from then).

Plain ADD / DROP COLUMN on both databases; no triggers are touched.
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("join_signup", sa.Column("purpose", sa.String(10), nullable=False,
                                           server_default="join"))
    op.add_column("join_signup", sa.Column("code_hash", sa.String(64), nullable=True))
    op.add_column("join_signup", sa.Column("lookup_key", sa.String(64), nullable=True))
    op.add_column("join_signup", sa.Column("checked_at", sa.DateTime, nullable=True))


def downgrade():
    for column in ("checked_at", "lookup_key", "code_hash", "purpose"):
        op.execute(f"ALTER TABLE join_signup DROP COLUMN {column}")  # SQLite 3.35+ too
