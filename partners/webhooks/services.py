"""Endpoints (a URL and a secret shown once), secret rotation with an overlap, the delivery log
and replays. Flush, never commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts import audit
from core.db import db, utcnow
from core.errors import Conflict, Invalid, NotFound
from partners.services import get_partner
from partners.webhooks import EVENTS, addresses, signing
from partners.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from partners.webhooks.outbox import WRITTEN

STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
PAGE = 50


def clean_url(raw: str) -> str:
    """An http(s) URL whose host is a public address (or a name not resolving to an inside
    one): never loopback (unless WEBHOOK_ALLOW_LOOPBACK), private, link-local or multicast."""
    url = (raw or "").strip()
    try:
        parts = urlsplit(url) if len(url) <= 500 else None
        _port = parts.port if parts is not None else None
    except ValueError:  # a port out of range, a malformed IPv6 literal
        parts = None
    printable = url.isprintable() and not any(c.isspace() for c in url)
    if (
        not printable
        or parts is None
        or parts.scheme not in addresses.SCHEMES
        or not parts.hostname
    ):
        message = _l("Địa chỉ nhận cần bắt đầu bằng https:// (hoặc http://), tối đa 500 ký tự.")
        raise Invalid(message, fields={"url": message}, code="invalid_url")
    try:
        addresses.check_url(url, allow_loopback=current_app.config["WEBHOOK_ALLOW_LOOPBACK"])
    except addresses.ForbiddenAddress:
        message = _l(
            "Địa chỉ nhận cần là một máy chủ công khai trên Internet, không phải địa chỉ nội bộ."
        )
        raise Invalid(message, fields={"url": message}, code="forbidden_address") from None
    return url


def clean_events(raw: Any) -> list[str]:
    chosen = [e for e in (raw or []) if e]
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        message = _l("Sự kiện không có: %(names)s", names=", ".join(unknown)[:200])
        raise Invalid(message, fields={"events": message})
    return sorted(set(chosen))  # empty: every event


def add_endpoint(partner_id: int, url: str, events: Any = ()) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (`whsec_…`, returned once; stored encrypted)."""
    partner = get_partner(partner_id)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        partner_id=partner.id,
        url=clean_url(url),
        events=clean_events(events),
        secret_encrypted=signing.encrypt(secret),
    )
    db.session.add(endpoint)
    db.session.flush()
    return endpoint, secret


def endpoints_of(partner_id: int) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.partner_id == partner_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def _endpoint_of(partner_id: int, endpoint_id: Any, *, lock: bool = False) -> WebhookEndpoint:
    """The partner's endpoint; another partner's is NotFound, as one that does not exist."""
    endpoint = (
        db.session.get(WebhookEndpoint, endpoint_id, with_for_update=True if lock else None)
        if isinstance(endpoint_id, int)
        else None
    )
    if endpoint is None or endpoint.partner_id != partner_id:
        raise NotFound()
    return endpoint


def set_endpoint_active(partner_id: int, endpoint_id: Any, active: bool) -> WebhookEndpoint:
    endpoint = _endpoint_of(partner_id, endpoint_id)
    endpoint.active = active
    db.session.flush()
    return endpoint


def secret_overlap() -> timedelta:
    return timedelta(hours=current_app.config.get("WEBHOOK_SECRET_OVERLAP_HOURS", 24))


def _readable(stored: str) -> bool:
    try:
        signing.decrypt(stored)
    except ValueError:  # SECRET_KEY changed since: it could not sign anyway
        return False
    return True


def rotate_secret(
    partner_id: int,
    endpoint_id: Any,
    *,
    actor_id: int | None = None,
    actor_role: str = "",
    via: str = "",
    now: datetime | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new secret for the endpoint (returned once, stored encrypted). The secret it replaces
    still signs, next to the new one, until now + WEBHOOK_SECRET_OVERLAP_HOURS; a secret still
    overlapping from an earlier rotation stops at once: only the newest two ever sign."""
    endpoint = _endpoint_of(partner_id, endpoint_id, lock=True)  # rotations one at a time
    now = now or utcnow()
    ends = now + secret_overlap()
    dropped = endpoint.previous_signs_until(now) is not None
    keep = ends > now and _readable(endpoint.secret_encrypted)
    secret = signing.new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted if keep else None
    endpoint.previous_secret_until = ends if keep else None
    endpoint.secret_encrypted = signing.encrypt(secret)
    audit.record(
        actor_id,
        "webhook_secret_rotated",
        actor_role=actor_role,
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        summary=f"Xoay vòng khoá ký webhook #{endpoint.id} ({endpoint.url})",
        details={
            "partner_id": endpoint.partner_id,
            "previous_signs_until": ends.isoformat() if keep else None,
            "older_secret_dropped": dropped,
            **({"via": via} if via else {}),
        },
    )
    db.session.flush()
    return endpoint, secret


def deliveries(
    *,
    partner_id: int | None = None,
    status: str | None = None,
    before: int | None = None,
    limit: int = PAGE,
) -> list[WebhookDelivery]:
    """Newest first; `before` is the last id of the previous page."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if partner_id is not None:
        query = query.where(WebhookDelivery.partner_id == partner_id)
    if status:
        if status not in STATUSES:
            message = _l("Trạng thái cần là pending, delivered hoặc failed.")
            raise Invalid(message, fields={"status": message})
        query = query.where(WebhookDelivery.status == status)
    if before:
        query = query.where(WebhookDelivery.id < before)
    return list(db.session.scalars(query))


def replay(delivery_id: Any, *, partner_id: int | None = None) -> WebhookDelivery:
    """Send again from the first attempt (same webhook-id, so receivers can tell). A partner
    replays only its own; one being sent right now is a conflict."""
    row = db.session.get(WebhookDelivery, delivery_id) if isinstance(delivery_id, int) else None
    if row is None or (partner_id is not None and row.partner_id != partner_id):
        raise NotFound()
    if row.status == DeliveryStatus.PENDING and row.attempts == 0 or _leased(row):
        raise Conflict(_l("Lần gửi này đang chờ gửi; không cần gửi lại."), code="delivery_pending")
    row.status = DeliveryStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = utcnow()
    row.delivered_at = None
    db.session.flush()
    db.session.info[WRITTEN] = True  # wake the runner after the commit
    return row


def _leased(row: WebhookDelivery) -> bool:
    return row.lease_until is not None and row.lease_until > utcnow()


def describe(row: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "webhook_id": row.msg_id,
        "event": row.event,
        "subject_id": row.subject_id,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at if row.status == DeliveryStatus.PENDING else None,
        "last_attempt_at": row.last_attempt_at,
        "last_status": row.last_status,
        "last_response": row.last_response,
        "created_at": row.created_at,
        "delivered_at": row.delivered_at,
    }
