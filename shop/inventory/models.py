"""Stock held by lot: a row per (variant, lot) with its best-before, every change a movement,
live checkout reservations, and one lock row per variant."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow


class MovementKind(enum.StrEnum):
    RECEIPT = "receipt"  # packs put on sale from a lot (on hand +)
    ADJUSTMENT = "adjustment"  # counted, broken, eaten by the dog (on hand ±, with a reason)
    ALLOCATION = "allocation"  # taken by an order (allocated +)
    RELEASE = "release"  # an order cancelled (allocated −)
    SHIPMENT = "shipment"  # left the farm (on hand − and allocated −)


class VariantStock(db.Model):
    """The lock row of a variant: checkouts lock these in ascending variant id order."""

    __tablename__ = "shop_variant_stock"

    variant_id: Mapped[int] = mapped_column(
        ForeignKey("variant.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockLot(db.Model):
    """Units of one variant packed from one lot."""

    __tablename__ = "shop_stock_lot"
    __table_args__ = (
        UniqueConstraint("variant_id", "batch_id"),
        CheckConstraint("allocated >= 0", name="allocated_not_negative"),
        CheckConstraint("on_hand >= allocated", name="not_oversold"),
        Index("ix_shop_stock_lot_batch", "batch_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="RESTRICT"))
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="CASCADE"))
    best_before: Mapped[date | None]
    on_hand: Mapped[int] = mapped_column(default=0)
    allocated: Mapped[int] = mapped_column(default=0)
    blocked: Mapped[bool] = mapped_column(default=False)  # the lot was recalled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockMovement(db.Model):
    """Append-only: on_hand = Σ on_hand_delta and allocated = Σ allocated_delta per stock lot."""

    __tablename__ = "shop_stock_movement"
    __table_args__ = (Index("ix_shop_stock_movement_lot", "stock_lot_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_lot_id: Mapped[int] = mapped_column(ForeignKey("shop_stock_lot.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(12))
    on_hand_delta: Mapped[int] = mapped_column(default=0)
    allocated_delta: Mapped[int] = mapped_column(default=0)
    lot_quantity: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))  # receipts: lot used
    lot_unit: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(300), default="")
    order_line_id: Mapped[int | None] = mapped_column(index=True)
    trace_event_id: Mapped[int | None]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reservation(db.Model):
    """Units held for a checkout in progress until `expires_at`."""

    __tablename__ = "shop_reservation"
    __table_args__ = (
        UniqueConstraint("holder", "variant_id"),
        Index("ix_shop_reservation_variant_expiry", "variant_id", "expires_at"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))  # the cart's token
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
