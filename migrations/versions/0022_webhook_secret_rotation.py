"""Webhook signing secrets rotate with an overlap: the previous secret (encrypted) and until
when it still signs, next to the current one.

Revision ID: webhook_secret_rotation
Revises: statement_queue
"""

import sqlalchemy as sa
from alembic import op

revision = "webhook_secret_rotation"
down_revision = "statement_queue"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("partner_webhook_endpoint") as batch:
        batch.add_column(
            sa.Column("previous_secret_encrypted", sa.String(length=200), nullable=True)
        )
        batch.add_column(
            sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("partner_webhook_endpoint") as batch:
        batch.drop_column("previous_secret_until")
        batch.drop_column("previous_secret_encrypted")
