"""Hardening: index for the hourly cap on one-time codes.

Revision ID: security
Revises: 0001_initial
"""

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


def downgrade():
    with op.batch_alter_table("one_time_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_one_time_code_created_at"))
