"""Each producer's shipping rule: a flat fee, weight bands, free above an amount."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow


class ShippingRule(db.Model):
    __tablename__ = "shop_shipping_rule"
    __table_args__ = (
        CheckConstraint("flat_fee_vnd >= 0", name="flat_fee_not_negative"),
        CheckConstraint("kind IN ('flat', 'weight')", name="kind"),
    )

    producer_id: Mapped[int] = mapped_column(
        ForeignKey("producer.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    kind: Mapped[str] = mapped_column(String(8), default="flat")
    flat_fee_vnd: Mapped[int] = mapped_column(default=30000)
    # [[up_to_grams, fee_vnd], …] ascending; heavier than the last band: the last fee
    bands: Mapped[list[Any]] = mapped_column(JSON, default=list)
    free_above_vnd: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
