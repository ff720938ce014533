"""Per-product opt-out: a producer opted in to a partner may keep single products out of that
partner's feeds (UNIQUE partner + product; the feed's NOT EXISTS walks that key).
variant.product_id and product_image.product_id, which the 100,000-product feed reads by, are
indexed since 0001.

Revision ID: product_opt_out
Revises: vietqr
"""

import sqlalchemy as sa
from alembic import op

revision = "product_opt_out"
down_revision = "vietqr"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "partner_product_exclusion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_product_exclusion_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_partner_product_exclusion_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_product_exclusion")),
        sa.UniqueConstraint(
            "partner_id",
            "product_id",
            name=op.f("uq_partner_product_exclusion_partner_id_product_id"),
        ),
    )
    op.create_index(
        op.f("ix_partner_product_exclusion_product_id"),
        "partner_product_exclusion",
        ["product_id"],
    )


def downgrade():
    op.drop_index(
        op.f("ix_partner_product_exclusion_product_id"), table_name="partner_product_exclusion"
    )
    op.drop_table("partner_product_exclusion")
