"""Partners (marketplaces, Google/Meta shops, trade portals), their keys, producers' opt-ins and
the change log the incremental feed reads (`updated_since` returns removals as tombstones)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import ApiKey
from cooperatives.models import Product
from core.db import db, utcnow


class Partner(db.Model):
    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    keys: Mapped[list[PartnerKey]] = relationship(
        back_populates="partner", order_by="PartnerKey.id.desc()"
    )


class PartnerKey(db.Model):
    """Which API key (accounts' one mechanism) belongs to which partner."""

    __tablename__ = "partner_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), index=True
    )
    api_key_id: Mapped[int] = mapped_column(
        ForeignKey("api_key.id", ondelete="CASCADE"), unique=True
    )

    partner: Mapped[Partner] = relationship(back_populates="keys")
    api_key: Mapped[ApiKey] = relationship()


class PartnerOptIn(db.Model):
    """A producer lets a partner list its products; withdrawn_at ends it (at once)."""

    __tablename__ = "partner_opt_in"
    __table_args__ = (UniqueConstraint("producer_id", "partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="CASCADE"))
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


class PartnerProductExclusion(db.Model):
    """A product its producer keeps out of one partner's feeds (the opt-in covers the rest)."""

    __tablename__ = "partner_product_exclusion"
    __table_args__ = (UniqueConstraint("partner_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedChange(db.Model):
    """A product left (or changed in) feeds without its own updated_at moving: unpublished,
    archived, certificate revoked/lapsed, opt-in granted/withdrawn, product excluded/included.
    partner_id None: all."""

    __tablename__ = "partner_feed_change"
    __table_args__ = (Index("ix_partner_feed_change_at", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(24))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class PartnerOrder(db.Model):
    """An order a partner placed, under its Idempotency-Key (same key and body: the same order)."""

    __tablename__ = "partner_order"
    __table_args__ = (UniqueConstraint("partner_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    body_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int] = mapped_column(
        ForeignKey("shop_order.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The feeds' ETag reads max(product.updated_at): an index makes it one step, not a scan.
Index("ix_product_updated_at", Product.__table__.c.updated_at)
