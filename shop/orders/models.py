"""Orders: one order per checkout, one sub-order per producer (each fulfils its own), lines
with the lots they took, status history and recall notices."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db, utcnow


class OrderStatus(enum.StrEnum):
    PLACED = "placed"
    CONFIRMED = "confirmed"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Channel(enum.StrEnum):
    WEB = "web"
    PARTNER = "partner"
    PHONE = "phone"


class Order(db.Model):
    __tablename__ = "shop_order"
    __table_args__ = (
        CheckConstraint("total_vnd >= 0", name="total_not_negative"),
        Index("ix_shop_order_buyer", "buyer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)  # shown to people: CQ-7K3M9P2X
    secret: Mapped[str] = mapped_column(String(64), unique=True)  # the follow link's key
    channel: Mapped[str] = mapped_column(String(16), default=Channel.WEB)
    source: Mapped[str] = mapped_column(String(64), default="")  # partner name, campaign…
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    buyer_name: Mapped[str] = mapped_column(String(120))
    buyer_phone: Mapped[str] = mapped_column(String(16))
    buyer_email: Mapped[str | None] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    province_code: Mapped[int]
    ward_code: Mapped[int]
    street: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    payment_method: Mapped[str] = mapped_column(String(16))
    subtotal_vnd: Mapped[int]
    shipping_vnd: Mapped[int]
    total_vnd: Mapped[int]
    recall_flagged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sub_orders: Mapped[list[SubOrder]] = relationship(
        back_populates="order", order_by="SubOrder.id", cascade="all, delete-orphan"
    )
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )


class SubOrder(db.Model):
    """One producer's part of an order: it packs, ships and is paid for it."""

    __tablename__ = "shop_sub_order"
    __table_args__ = (
        UniqueConstraint("order_id", "producer_id"),
        Index("ix_shop_sub_order_producer_status", "producer_id", "status", "id"),
        CheckConstraint(
            "status IN ('placed', 'confirmed', 'packed', 'shipped', 'delivered', 'cancelled')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id", ondelete="CASCADE"))
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="RESTRICT"))
    producer_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default=OrderStatus.PLACED)
    subtotal_vnd: Mapped[int]
    shipping_vnd: Mapped[int]
    weight_grams: Mapped[int] = mapped_column(default=0)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_by: Mapped[str | None] = mapped_column(String(12))  # buyer | producer | system
    carrier: Mapped[str | None] = mapped_column(String(80))
    tracking_number: Mapped[str | None] = mapped_column(String(80))
    goods_returned_at: Mapped[datetime | None]  # the buyer sent the goods back: stock returned
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    order: Mapped[Order] = relationship(back_populates="sub_orders")
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="sub_order", order_by="OrderLine.id", viewonly=True
    )

    @property
    def total_vnd(self) -> int:
        return self.subtotal_vnd + self.shipping_vnd


class OrderLine(db.Model):
    __tablename__ = "shop_order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_vnd >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id", ondelete="CASCADE"))
    sub_order_id: Mapped[int] = mapped_column(
        ForeignKey("shop_sub_order.id", ondelete="CASCADE"), index=True
    )
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variant.id", ondelete="SET NULL"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id", ondelete="SET NULL"))
    product_name: Mapped[str] = mapped_column(String(200))  # as sold
    variant_label: Mapped[str] = mapped_column(String(120))
    sku: Mapped[str] = mapped_column(String(64), default="")
    unit_price_vnd: Mapped[int]
    quantity: Mapped[int]
    line_total_vnd: Mapped[int]
    # OCOP stars the product showed when sold (0: no certificate in force; None: not recorded)
    ocop_stars: Mapped[int | None] = mapped_column(SmallInteger)

    order: Mapped[Order] = relationship(back_populates="lines")
    sub_order: Mapped[SubOrder] = relationship(back_populates="lines", viewonly=True)
    lots: Mapped[list[OrderLineLot]] = relationship(
        order_by="OrderLineLot.id", cascade="all, delete-orphan"
    )


class OrderLineLot(db.Model):
    """Which lot a line's units came from: a recall finds its buyers through these rows."""

    __tablename__ = "shop_order_line_lot"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(
        ForeignKey("shop_order_line.id", ondelete="CASCADE"), index=True
    )
    stock_lot_id: Mapped[int] = mapped_column(ForeignKey("shop_stock_lot.id", ondelete="RESTRICT"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="RESTRICT"), index=True)
    lot_code: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]
    released: Mapped[bool] = mapped_column(default=False)


class OrderEvent(db.Model):
    """Status history: who moved which part of the order from what to what, and why."""

    __tablename__ = "shop_order_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("shop_order.id", ondelete="CASCADE"), index=True
    )
    sub_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("shop_sub_order.id", ondelete="CASCADE")
    )
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(12), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class RecallNotice(db.Model):
    """An order that received units of a recalled lot (or of a lot made from it)."""

    __tablename__ = "shop_recall_notice"
    __table_args__ = (UniqueConstraint("order_id", "origin_batch_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id", ondelete="CASCADE"))
    origin_batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="RESTRICT"))
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="RESTRICT"))
    lot_codes: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[datetime | None]
