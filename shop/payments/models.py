"""Payments: one record per amount to collect, whatever the method. Cash on delivery today
(one per sub-order: each producer collects its own part); card (Stripe) and VietQR next, one per
order, with the provider's reference."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow


class PaymentMethod(enum.StrEnum):
    COD = "cod"
    CARD = "card"
    VIETQR = "vietqr"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"  # COD: to be collected on delivery
    AUTHORISED = "authorised"
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
