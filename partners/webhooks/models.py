"""Webhook endpoints of partners and the delivery log (the outbox rows the runner sends)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db, utcnow
from partners.models import Partner


class WebhookEndpoint(db.Model):
    """Where a partner receives events. The secret is stored encrypted (it must sign) and shown
    once, when created or rotated. After a rotation the previous secret signs too, until
    `previous_secret_until` (the overlap), so the partner can switch without losing an event."""

    __tablename__ = "partner_webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(500))
    secret_encrypted: Mapped[str] = mapped_column(String(200))
    previous_secret_encrypted: Mapped[str | None] = mapped_column(String(200))
    previous_secret_until: Mapped[datetime | None]
    events: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every event
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    partner: Mapped[Partner] = relationship()

    def previous_signs_until(self, now: datetime) -> datetime | None:
        """When the previous secret stops signing, while it still does (None: only the
        current secret signs)."""
        until = self.previous_secret_until
        if self.previous_secret_encrypted and until is not None and until > now:
            return until
        return None


class DeliveryStatus:
    PENDING = "pending"  # waiting for its next attempt (or being sent while leased)
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after WEBHOOK_MAX_ATTEMPTS; replayable


class WebhookDelivery(db.Model):
    """One event for one endpoint. `coalesce_key` is set only while a coalescable event waits
    for its first attempt: the unique index makes a burst one row. A claim sets `lease_until`;
    a worker that dies holding it leaves the row to be claimed again when the lease expires."""

    __tablename__ = "partner_webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "coalesce_key"),
        Index("ix_partner_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_partner_webhook_delivery_partner", "partner_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(40), unique=True)  # the webhook-id header
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("partner_webhook_endpoint.id", ondelete="CASCADE")
    )
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None]  # product id for product.*/stock.changed
    coalesce_key: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict | None] = mapped_column(JSON)  # None: built at send time
    status: Mapped[str] = mapped_column(String(12), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_status: Mapped[int | None]  # HTTP status of the last attempt (None: no answer)
    last_response: Mapped[str] = mapped_column(Text, default="")  # excerpt or the error
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
