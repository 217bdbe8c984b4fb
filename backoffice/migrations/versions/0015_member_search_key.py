"""member_search_key: a search key and a cross-script duplicate key per member

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 10:20:00

The member list's search finds any word of a name, in either script, by a
phonetic key (backoffice/phonetic.py); members recorded twice, once in
Devanagari and once in Latin letters, share a duplicate key. Both columns are
filled here for the rows already there, in batches by id, then indexed. On
PostgreSQL the search key (with the scope's unit columns, through btree_gin) and
the mobile number get indexes (pg_trgm; the mobile reversed, in a btree), so "a word
starting with" and "a mobile ending in" are index scans: both extensions are trusted since
PostgreSQL 13, so the database's owner running the migrations may create them
(docs/search.md). Plain ADD COLUMN and CREATE INDEX:
batch mode would copy the member table on SQLite and lose its triggers.
"""
from datetime import date

import sqlalchemy as sa
from alembic import op

from backoffice import phonetic

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

BATCH = 5000


def _backfill(connection) -> None:
    """The keys of every row, a batch of ids at a time: memory stays flat at 1M rows, and
    PostgreSQL's statement-level tally triggers fire once per batch, not per row."""
    postgresql = connection.dialect.name == "postgresql"
    last = 0
    while True:
        rows = connection.execute(sa.text(
            "SELECT id, full_name, relative_name, date_of_birth FROM member "
            "WHERE id > :last ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}).all()
        if not rows:
            return
        last = rows[-1][0]
        keys = [(row[0], phonetic.search_key(row[1]),
                 phonetic.duplicate_key(row[1], row[2], _date(row[3]))) for row in rows]
        if postgresql:
            connection.execute(sa.text(
                "UPDATE member SET search_key = v.s, duplicate_key = v.d "
                "FROM unnest(CAST(:ids AS integer[]), CAST(:s AS text[]), CAST(:d AS text[])) "
                "AS v(id, s, d) WHERE member.id = v.id"),
                {"ids": [k[0] for k in keys], "s": [k[1] for k in keys],
                 "d": [k[2] for k in keys]})
        else:
            connection.execute(sa.text(
                "UPDATE member SET search_key = :s, duplicate_key = :d WHERE id = :id"),
                [{"id": k[0], "s": k[1], "d": k[2]} for k in keys])


def _date(value):
    """SQLite hands a date column back as text through a plain SELECT."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def upgrade():
    op.add_column('member', sa.Column('search_key', sa.String(length=300), nullable=True))
    op.add_column('member', sa.Column('duplicate_key', sa.String(length=20), nullable=True))
    connection = op.get_bind()
    _backfill(connection)
    op.create_index('ix_member_duplicate_key', 'member', ['duplicate_key'], unique=False)
    if connection.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        # An extension lives in one schema per database, maybe not the first on the
        # search path: name its operator classes with that schema.
        trgm, btree = (connection.scalar(sa.text(
            "SELECT extnamespace::regnamespace::text FROM pg_extension "
            "WHERE extname = :name"), {"name": name}) for name in ("pg_trgm", "btree_gin"))
        # The scope's column inside the same GIN index (btree_gin): a district's or a
        # block's members whose key has the word are found in the index alone, instead
        # of ANDing a bitmap of the district's 75,000 rows with the word's (docs/search.md).
        scope = ", ".join(f"{column} {btree}.int4_ops"
                          for column in ("district_id", "block_id", "zone_id"))
        op.execute("CREATE INDEX ix_member_search_key_trgm ON member "
                   f"USING gin ({scope}, search_key {trgm}.gin_trgm_ops)")
        # A mobile's last digits: its reversed text, searched by prefix in a btree. (A
        # trigram index on mobile would be picked for `mobile = ANY(...)` on a table
        # without statistics, and answers thousands of exact phones slower than a scan.)
        op.execute("CREATE INDEX ix_member_mobile_reversed ON member "
                   "(reverse(mobile) text_pattern_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_member_mobile_reversed")
        op.execute("DROP INDEX IF EXISTS ix_member_search_key_trgm")
        # pg_trgm and btree_gin stay: other objects may use them; unused they cost nothing.
    op.drop_index('ix_member_duplicate_key', table_name='member')
    op.execute("ALTER TABLE member DROP COLUMN duplicate_key")  # SQLite 3.35+ too
    op.execute("ALTER TABLE member DROP COLUMN search_key")
