"""Payments: the money ledger (insert-only entries per order part and producer) and the payment
events that key its idempotency (UNIQUE source + external_id). On PostgreSQL a trigger refuses
UPDATE and DELETE on both tables.

Revision ID: payments
Revises: partners
"""

import sqlalchemy as sa
from alembic import op

revision = "payments"
down_revision = "partners"
branch_labels = None
depends_on = None

TABLES = ("shop_payment_event", "shop_ledger_entry")


def upgrade():
    with op.batch_alter_table("shop_sub_order") as batch:
        batch.add_column(sa.Column("goods_returned_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "shop_payment_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("amount_vnd", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user.id"],
            name=op.f("fk_shop_payment_event_actor_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["shop_order.id"],
            name=op.f("fk_shop_payment_event_order_id_shop_order"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["shop_payment.id"],
            name=op.f("fk_shop_payment_event_payment_id_shop_payment"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_payment_event")),
        sa.UniqueConstraint(
            "source", "external_id", name=op.f("uq_shop_payment_event_source_external_id")
        ),
    )
    with op.batch_alter_table("shop_payment_event") as batch:
        batch.create_index(
            batch.f("ix_shop_payment_event_order_id"), ["order_id"], unique=False
        )
        batch.create_index(
            batch.f("ix_shop_payment_event_payment_id"), ["payment_id"], unique=False
        )
    op.create_table(
        "shop_ledger_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("sub_order_id", sa.Integer(), nullable=True),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_vnd", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('charge', 'fee', 'refund', 'payout', 'cash_collected', 'cash_refunded')",
            name=op.f("ck_shop_ledger_entry_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user.id"],
            name=op.f("fk_shop_ledger_entry_actor_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["shop_payment_event.id"],
            name=op.f("fk_shop_ledger_entry_event_id_shop_payment_event"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["shop_order.id"],
            name=op.f("fk_shop_ledger_entry_order_id_shop_order"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["shop_payment.id"],
            name=op.f("fk_shop_ledger_entry_payment_id_shop_payment"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"],
            ["producer.id"],
            name=op.f("fk_shop_ledger_entry_producer_id_producer"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sub_order_id"],
            ["shop_sub_order.id"],
            name=op.f("fk_shop_ledger_entry_sub_order_id_shop_sub_order"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_ledger_entry")),
    )
    with op.batch_alter_table("shop_ledger_entry") as batch:
        batch.create_index(batch.f("ix_shop_ledger_entry_event_id"), ["event_id"], unique=False)
        batch.create_index(
            "ix_shop_ledger_entry_order", ["order_id", "sub_order_id"], unique=False
        )
        batch.create_index(
            "ix_shop_ledger_entry_producer", ["producer_id", "created_at"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION shop_ledger_refuse_change() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is insert-only'; END; $$ "
    "LANGUAGE plpgsql"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_insert_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION shop_ledger_refuse_change()"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_insert_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS shop_ledger_refuse_change()")
    op.drop_table("shop_ledger_entry")
    op.drop_table("shop_payment_event")
    with op.batch_alter_table("shop_sub_order") as batch:
        batch.drop_column("goods_returned_at")
