"""Partners: partner accounts and their keys, producers' opt-ins, the feed change log, partner orders by Idempotency-Key; API keys
gain an expiry (rotation with overlap) and a per-key rate limit.

Revision ID: partners
Revises: shop
"""

import sqlalchemy as sa
from alembic import op

revision = "partners"
down_revision = "stamp_dl_serial"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rate_limit", sa.String(length=40), nullable=True))
    op.create_table(
        "partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner")),
        sa.UniqueConstraint("name", name=op.f("uq_partner_name")),
    )
    op.create_table(
        "partner_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_key.id"],
            name=op.f("fk_partner_key_api_key_id_api_key"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_key_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_key")),
        sa.UniqueConstraint("api_key_id", name=op.f("uq_partner_key_api_key_id")),
    )
    op.create_index(op.f("ix_partner_key_partner_id"), "partner_key", ["partner_id"])
    op.create_table(
        "partner_opt_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_opt_in_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"],
            ["producer.id"],
            name=op.f("fk_partner_opt_in_producer_id_producer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_opt_in")),
        sa.UniqueConstraint(
            "producer_id", "partner_id", name=op.f("uq_partner_opt_in_producer_id_partner_id")
        ),
    )
    op.create_index(op.f("ix_partner_opt_in_partner_id"), "partner_opt_in", ["partner_id"])
    op.create_table(
        "partner_feed_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_feed_change_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_partner_feed_change_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_feed_change")),
    )
    op.create_index("ix_partner_feed_change_at", "partner_feed_change", ["changed_at"])
    op.create_table(
        "partner_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["shop_order.id"], name=op.f("fk_partner_order_order_id_shop_order"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partner.id"], name=op.f("fk_partner_order_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_order")),
        sa.UniqueConstraint("order_id", name=op.f("uq_partner_order_order_id")),
        sa.UniqueConstraint(
            "partner_id", "idempotency_key", name=op.f("uq_partner_order_partner_id_idempotency_key")
        ),
    )


def downgrade():
    op.drop_table("partner_order")
    op.drop_index("ix_partner_feed_change_at", table_name="partner_feed_change")
    op.drop_table("partner_feed_change")
    op.drop_index(op.f("ix_partner_opt_in_partner_id"), table_name="partner_opt_in")
    op.drop_table("partner_opt_in")
    op.drop_index(op.f("ix_partner_key_partner_id"), table_name="partner_key")
    op.drop_table("partner_key")
    op.drop_table("partner")
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("rate_limit")
        batch.drop_column("expires_at")
