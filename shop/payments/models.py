"""Payments: one record per amount to collect, whatever the method. Cash on delivery today
(one per sub-order: each producer collects its own part); card (Stripe) and VietQR next, one per
order, with the provider's reference."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    DDL,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow


class PaymentMethod(enum.StrEnum):
    COD = "cod"
    CARD = "card"
    VIETQR = "vietqr"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"  # COD: to be collected on delivery
    AUTHORISED = "authorised"
    PROCESSING = "processing"  # card: the attempt is stored, the call to Stripe under way
    ACTION = "action"  # card: waiting for the buyer's bank (3-D Secure)
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class Payment(db.Model):
    __tablename__ = "shop_payment"
    __table_args__ = (
        CheckConstraint("amount_vnd >= 0", name="amount_not_negative"),
        Index("ix_shop_payment_order", "order_id"),
        Index("ix_shop_payment_provider_ref", "provider", "provider_reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id", ondelete="CASCADE"))
    sub_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("shop_sub_order.id", ondelete="CASCADE")
    )
    method: Mapped[str] = mapped_column(String(16))
    amount_vnd: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    status: Mapped[str] = mapped_column(String(12), default=PaymentStatus.PENDING)
    provider: Mapped[str] = mapped_column(String(32), default="")  # "", stripe, vietqr
    provider_reference: Mapped[str | None] = mapped_column(String(128))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]


class EntryKind(enum.StrEnum):
    """Signs are the effect on what the platform owes the producer."""

    CHARGE = "charge"  # + money the buyer paid for this producer's part
    FEE = "fee"  # − the platform's fee on that part
    REFUND = "refund"  # − money given back to the buyer
    PAYOUT = "payout"  # − money the platform transferred to the producer
    CASH_COLLECTED = "cash_collected"  # − cash on delivery: the producer already holds it
    CASH_REFUNDED = "cash_refunded"  # + a refund the producer paid out of that cash


class PaymentEvent(db.Model):
    """The idempotency key: one row per provider event, bank transaction or person's act that
    moved money. A second arrival of the same (source, external_id) conflicts: already applied.
    Insert-only, like the ledger."""

    __tablename__ = "shop_payment_event"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # stripe, vietqr-statement, manual…
    external_id: Mapped[str] = mapped_column(String(128))
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("shop_payment.id", ondelete="RESTRICT"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("shop_order.id", ondelete="RESTRICT"), index=True
    )
    amount_vnd: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(24))  # applied, mismatch, not_payable…
    detail: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEntry(db.Model):
    """One immutable movement of money for one producer's part of an order (or a payout)."""

    __tablename__ = "shop_ledger_entry"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('charge', 'fee', 'refund', 'payout', 'cash_collected', 'cash_refunded')",
            name="kind",
        ),
        Index("ix_shop_ledger_entry_producer", "producer_id", "created_at"),
        Index("ix_shop_ledger_entry_order", "order_id", "sub_order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("shop_payment_event.id", ondelete="RESTRICT"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_order.id", ondelete="RESTRICT"))
    sub_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("shop_sub_order.id", ondelete="RESTRICT")
    )
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="RESTRICT"))
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("shop_payment.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(16))
    amount_vnd: Mapped[int]  # signed
    method: Mapped[str] = mapped_column(String(16))  # card, vietqr, cod, cash, bank…
    reference: Mapped[str] = mapped_column(String(128), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImmutableRow(Exception):
    """A ledger row was about to be changed or deleted."""


def _refuse_change(mapper, connection, target) -> None:
    raise ImmutableRow(f"{type(target).__name__} rows are insert-only")


for _model in (LedgerEntry, PaymentEvent):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)

# PostgreSQL refuses UPDATE and DELETE itself (bulk statements too); the migration creates the
# same trigger, and create_all (tests) gets it through this hook.
_PG_FUNCTION = DDL(
    "CREATE OR REPLACE FUNCTION shop_ledger_refuse_change() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is insert-only'; END; $$ "
    "LANGUAGE plpgsql"
)
for _table in (PaymentEvent.__table__, LedgerEntry.__table__):
    event.listen(_table, "after_create", _PG_FUNCTION.execute_if(dialect="postgresql"))
    event.listen(
        _table,
        "after_create",
        DDL(
            f"CREATE TRIGGER {_table.name}_insert_only BEFORE UPDATE OR DELETE ON {_table.name} "
            "FOR EACH ROW EXECUTE FUNCTION shop_ledger_refuse_change()"
        ).execute_if(dialect="postgresql"),
    )
