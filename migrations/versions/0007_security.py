"""Hardening: membership invitations; index for the hourly cap on one-time codes.

Revision ID: security
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "security"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("one_time_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_one_time_code_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "member_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["user.id"],
            name=op.f("fk_member_invitation_invited_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"],
            ["producer.id"],
            name=op.f("fk_member_invitation_producer_id_producer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_invitation")),
    )
    with op.batch_alter_table("member_invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_invitation_phone"), ["phone"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_member_invitation_producer_id"), ["producer_id"], unique=False
        )
        batch_op.create_index(
            "uq_member_invitation_pending",
            ["producer_id", "phone"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade():
    op.drop_table("member_invitation")
    with op.batch_alter_table("one_time_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_one_time_code_created_at"))
