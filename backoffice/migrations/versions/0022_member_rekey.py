"""member_rekey: the search and duplicate keys recomputed with the current phonetic folding

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 13:40:00

The phonetic key (backoffice/phonetic.py) reads more Latin spellings of Devanagari
names alike since this revision: ऋ as "ri" (Krishna, कृष्ण), a nasal before p, b or m
as "m" (Champa, चंपा), ai and ay alike (Jai, जय), Pandey and पांडे, Surender and
सुरेंद्र, Kishore and किशोर, Soniya and Sonia, Tandon and टंडन. The keys already stored
were made by the old folding: this recomputes every row's keys, in batches of ids,
and writes only the rows whose keys changed (docs/search.md). A key is derived data;
the audit chain does not cover it. Downgrading leaves the new keys: the old folding
is gone, and they are as good for its queries.
"""
from datetime import date

import sqlalchemy as sa
from alembic import op

from backoffice import phonetic

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

BATCH = 5000


def _date(value):
    """SQLite hands a date column back as text through a plain SELECT."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def rekey(connection) -> int:
    """Every member's keys recomputed, a batch of ids at a time (memory stays flat at 1M
    rows; PostgreSQL's statement-level tally triggers fire once per batch); only the rows
    whose keys changed are written. Returns how many were."""
    postgresql = connection.dialect.name == "postgresql"
    last, changed = 0, 0
    while True:
        rows = connection.execute(sa.text(
            "SELECT id, full_name, relative_name, date_of_birth, search_key, duplicate_key "
            "FROM member WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH}).all()
        if not rows:
            return changed
        last = rows[-1][0]
        keys = []
        for row in rows:
            search = phonetic.search_key(row[1])
            duplicate = phonetic.duplicate_key(row[1], row[2], _date(row[3]))
            if (search, duplicate) != (row[4], row[5]):
                keys.append((row[0], search, duplicate))
        if not keys:
            continue
        changed += len(keys)
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


def upgrade():
    rekey(op.get_bind())


def downgrade():
    pass
