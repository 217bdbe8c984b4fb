"""referrals and notifications: recruiter codes, a member's recruiter, SMS opt-out, sent notices

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 11:52:00

Plain ADD / DROP COLUMN on both databases (batch mode would copy the member table
on SQLite and lose its triggers, see 0011). The foreign keys of the new columns
are PostgreSQL's; SQLite cannot add one to an existing table.

- ``ref_code`` on staff users and members: the short random code of their recruiter
  link (/r/<code>), made when first shown (services/referrals.py).
- ``member.referrer_staff_id`` / ``referrer_member_id``: who recruited the member.
- ``member.sms_opt_out``: no notifications but the ones the law needs
  (docs/notifications.md).
- ``member_notification``: one row per (member, event, ref): a notice is sent once.
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("staff_user", sa.Column("ref_code", sa.String(12), nullable=True))
    op.create_index("ix_staff_user_ref_code", "staff_user", ["ref_code"], unique=True)
    op.add_column("member", sa.Column("ref_code", sa.String(12), nullable=True))
    op.create_index("ix_member_ref_code", "member", ["ref_code"], unique=True)
    op.add_column("member", sa.Column("referrer_staff_id", sa.Integer, nullable=True))
    op.add_column("member", sa.Column("referrer_member_id", sa.Integer, nullable=True))
    op.create_index("ix_member_referrer_staff", "member", ["referrer_staff_id", "created_at"])
    op.create_index("ix_member_referrer_member", "member", ["referrer_member_id", "created_at"])
    op.add_column("member", sa.Column("sms_opt_out", sa.Boolean, nullable=False,
                                      server_default=sa.false()))
    if postgres:
        op.create_foreign_key("fk_member_referrer_staff", "member", "staff_user",
                              ["referrer_staff_id"], ["id"])
        op.create_foreign_key("fk_member_referrer_member", "member", "member",
                              ["referrer_member_id"], ["id"])
    op.create_table(
        "member_notification",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id"), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("ref", sa.String(40), nullable=False, server_default=""),
        sa.Column("state", sa.String(10), nullable=False, server_default="queued"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("params", sa.Text, nullable=False, server_default="{}"),
        sa.Column("provider_id", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("member_id", "event", "ref", name="ux_member_notification_once"),
    )
    op.create_index("ix_member_notification_state", "member_notification", ["state", "id"])


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_member_notification_state", "member_notification")
    op.drop_table("member_notification")
    if postgres:
        op.drop_constraint("fk_member_referrer_member", "member", type_="foreignkey")
        op.drop_constraint("fk_member_referrer_staff", "member", type_="foreignkey")
    op.drop_index("ix_member_referrer_member", "member")
    op.drop_index("ix_member_referrer_staff", "member")
    op.drop_index("ix_member_ref_code", "member")
    op.drop_index("ix_staff_user_ref_code", "staff_user")
    for column in ("sms_opt_out", "referrer_member_id", "referrer_staff_id", "ref_code"):
        op.execute(f"ALTER TABLE member DROP COLUMN {column}")  # SQLite 3.35+ too
    op.execute("ALTER TABLE staff_user DROP COLUMN ref_code")
