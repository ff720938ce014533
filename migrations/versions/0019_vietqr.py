"""VietQR reconciliation: bank transfers received (UNIQUE bank + transaction key: a statement
uploaded twice, or a notification replayed, is applied once), the statements uploaded, and each
person's remembered statement columns per bank.

Revision ID: vietqr
Revises: payments
"""

import sqlalchemy as sa
from alembic import op

revision = "vietqr"
down_revision = "payments"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bank_statement_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("bank", sa.String(length=40), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["user.id"],
            name=op.f("fk_bank_statement_profile_owner_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement_profile")),
        sa.UniqueConstraint(
            "owner_id", "bank", name=op.f("uq_bank_statement_profile_owner_id_bank")
        ),
    )
    op.create_table(
        "bank_statement_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uploader_id", sa.Integer(), nullable=True),
        sa.Column("producer_id", sa.Integer(), nullable=True),
        sa.Column("bank", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("lines_total", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("unmatched", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["uploader_id"],
            ["user.id"],
            name=op.f("fk_bank_statement_upload_uploader_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"],
            ["producer.id"],
            name=op.f("fk_bank_statement_upload_producer_id_producer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement_upload")),
    )
    op.create_index(
        "ix_bank_statement_upload_producer",
        "bank_statement_upload",
        ["producer_id", "id"],
        unique=False,
    )
    op.create_table(
        "bank_transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank", sa.String(length=40), nullable=False),
        sa.Column("txn_key", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=True),
        sa.Column("line_no", sa.Integer(), nullable=True),
        sa.Column("producer_id", sa.Integer(), nullable=True),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["bank_statement_upload.id"],
            name=op.f("fk_bank_transfer_upload_id_bank_statement_upload"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"],
            ["producer.id"],
            name=op.f("fk_bank_transfer_producer_id_producer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["shop_order.id"],
            name=op.f("fk_bank_transfer_order_id_shop_order"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["user.id"],
            name=op.f("fk_bank_transfer_resolved_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_transfer")),
        sa.UniqueConstraint("bank", "txn_key", name=op.f("uq_bank_transfer_bank_txn_key")),
    )
    op.create_index("ix_bank_transfer_status", "bank_transfer", ["status", "id"], unique=False)
    op.create_index("ix_bank_transfer_order", "bank_transfer", ["order_id"], unique=False)
    op.create_index(
        "ix_bank_transfer_producer", "bank_transfer", ["producer_id", "status"], unique=False
    )


def downgrade():
    op.drop_index("ix_bank_transfer_producer", table_name="bank_transfer")
    op.drop_index("ix_bank_transfer_order", table_name="bank_transfer")
    op.drop_index("ix_bank_transfer_status", table_name="bank_transfer")
    op.drop_table("bank_transfer")
    op.drop_index("ix_bank_statement_upload_producer", table_name="bank_statement_upload")
    op.drop_table("bank_statement_upload")
    op.drop_table("bank_statement_profile")
