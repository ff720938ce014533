"""Partner webhooks: endpoints (URL, encrypted secret, events) and the delivery log (outbox);
an index on product.updated_at for the feeds' cheap ETag.

Revision ID: partner_webhooks
Revises: partners
"""

import sqlalchemy as sa
from alembic import op

revision = "partner_webhooks"
down_revision = "partners"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "partner_webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret_encrypted", sa.String(length=200), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_webhook_endpoint_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_webhook_endpoint")),
    )
    op.create_index(
        op.f("ix_partner_webhook_endpoint_partner_id"),
        "partner_webhook_endpoint",
        ["partner_id"],
        unique=False,
    )
    op.create_table(
        "partner_webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("msg_id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("coalesce_key", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["partner_webhook_endpoint.id"],
            name=op.f("fk_partner_webhook_delivery_endpoint_id_partner_webhook_endpoint"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_webhook_delivery_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_webhook_delivery")),
        sa.UniqueConstraint(
            "endpoint_id", "coalesce_key", name=op.f("uq_partner_webhook_delivery_endpoint_id_coalesce_key")
        ),
        sa.UniqueConstraint("msg_id", name=op.f("uq_partner_webhook_delivery_msg_id")),
    )
    op.create_index(
        "ix_partner_webhook_delivery_due",
        "partner_webhook_delivery",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        "ix_partner_webhook_delivery_partner",
        "partner_webhook_delivery",
        ["partner_id", "id"],
        unique=False,
    )
    op.create_index("ix_product_updated_at", "product", ["updated_at"], unique=False)


def downgrade():
    op.drop_index("ix_product_updated_at", table_name="product")
    op.drop_index("ix_partner_webhook_delivery_partner", table_name="partner_webhook_delivery")
    op.drop_index("ix_partner_webhook_delivery_due", table_name="partner_webhook_delivery")
    op.drop_table("partner_webhook_delivery")
    op.drop_index(
        op.f("ix_partner_webhook_endpoint_partner_id"), table_name="partner_webhook_endpoint"
    )
    op.drop_table("partner_webhook_endpoint")
