"""stored_file / stored_chunk: shared file storage; import files by relative name; job

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 07:40:00

Import batches named their file by an absolute path on the host that took the
upload; they now name it in storage ("imports/<sha256>.<suffix>"), which the
filesystem backend keeps in the same place under the instance folder.
import_batch.file_deleted_at records when the retention period removed it.
job: long work done by workers, its state and progress readable from every host.
Plain ADD / DROP COLUMN: batch mode would copy the table on SQLite.
"""
from pathlib import PurePath

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stored_file',
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('chunks', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_stored_file')),
    )
    op.create_table(
        'stored_chunk',
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['name'], ['stored_file.name'], ondelete='CASCADE',
                                name=op.f('fk_stored_chunk_name_stored_file')),
        sa.PrimaryKeyConstraint('name', 'seq', name=op.f('pk_stored_chunk')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        # Photos and zipped PDFs do not compress: store chunks as they are.
        op.execute("ALTER TABLE stored_chunk ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table(
        'job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.String(length=60), nullable=False),
        sa.Column('active_key', sa.String(length=120), nullable=True),
        sa.Column('args', sa.Text(), nullable=False),
        sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='job_state',
                                   native_enum=False, create_constraint=True, length=10),
                  nullable=False),
        sa.Column('progress', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('result', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('worker', sa.String(length=100), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['staff_user.id'],
                                name=op.f('fk_job_created_by_id_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
        sa.UniqueConstraint('active_key', name=op.f('uq_job_active_key')),
    )
    op.create_index('ix_job_subject', 'job', ['subject', 'id'])
    op.create_index('ix_job_state_heartbeat', 'job', ['state', 'heartbeat_at'])
    op.create_index(op.f('ix_job_created_by_id'), 'job', ['created_by_id'])
    op.add_column('import_batch', sa.Column('file_deleted_at', sa.DateTime(), nullable=True))
    batch = sa.table('import_batch', sa.column('id', sa.Integer),
                     sa.column('stored_path', sa.String))
    connection = op.get_bind()
    for row in connection.execute(sa.select(batch.c.id, batch.c.stored_path)).all():
        name = 'imports/' + PurePath(row.stored_path).name
        connection.execute(batch.update().where(batch.c.id == row.id).values(stored_path=name))


def downgrade():
    op.execute("ALTER TABLE import_batch DROP COLUMN file_deleted_at")
    op.drop_table('job')
    op.drop_table('stored_chunk')
    op.drop_table('stored_file')
