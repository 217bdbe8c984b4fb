"""join_signup: a /join signup's random handle, and a refused signup's code counts

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 08:00:00

The join page's cookie names a signup by a random handle (stored hashed), the
same whether the signup made a member or was refused, so the cookie says
nothing about who is already a member. A new table: no triggers are touched.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'join_signup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('handle_hash', sa.String(length=64), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=True),
        sa.Column('phone', sa.String(length=16), nullable=True),
        sa.Column('sends', sa.Integer(), nullable=False),
        sa.Column('checks', sa.Integer(), nullable=False),
        sa.Column('last_sent_at', sa.DateTime(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'],
                                name=op.f('fk_join_signup_member_id_member'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_join_signup')),
        sa.UniqueConstraint('handle_hash', name=op.f('uq_join_signup_handle_hash')),
    )
    op.create_index(op.f('ix_join_signup_member_id'), 'join_signup', ['member_id'])
    op.create_index(op.f('ix_join_signup_created_at'), 'join_signup', ['created_at'])


def downgrade():
    op.drop_index(op.f('ix_join_signup_created_at'), table_name='join_signup')
    op.drop_index(op.f('ix_join_signup_member_id'), table_name='join_signup')
    op.drop_table('join_signup')
