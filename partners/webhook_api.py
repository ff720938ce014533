"""The partner's own webhooks under /api/v1/webhooks (scope webhooks:manage): register and list
endpoints (public http(s) addresses only), rotate an endpoint's signing secret, read the
delivery log newest first, replay a delivery. Errors are application/problem+json."""

from __future__ import annotations

from flask import Blueprint, g
from flask_babel import lazy_gettext as _l

from accounts.api_keys import require_api_key
from core.db import utcnow
from core.errors import Forbidden, Invalid
from core.numbers import parse_int
from core.security import csrf
from partners import api_input
from partners.schemas import FullFeedQueryIn
from partners.services import partner_of_key
from partners.webhooks import services
from partners.webhooks.schemas import (
    DeliveryQueryIn,
    WebhookDeliveryOut,
    WebhookDeliveryPageOut,
    WebhookEndpointCreatedOut,
    WebhookEndpointIn,
    WebhookEndpointListOut,
    WebhookSecretRotatedOut,
)

bp = Blueprint("partners_webhooks_api", __name__, url_prefix="/api/v1/webhooks")
csrf.exempt(bp)


def _partner_id() -> int:
    partner = partner_of_key(g.api_key)
    if partner is None:
        raise Forbidden(_l("Khoá API này không thuộc đối tác nào đang hoạt động."))
    return partner.id


def _number(args: dict, name: str, maximum: int, default: int | None) -> int | None:
    if name not in args:
        return default
    value = parse_int(args[name], minimum=1, maximum=maximum)
    if value is None:
        message = _l("%(name)s cần là số từ 1 đến %(max)s.", name=name, max=maximum)
        raise Invalid(message, fields={name: message})
    return value


@bp.get("/deliveries")
@require_api_key("webhooks:manage")
def deliveries():
    args = api_input.query(DeliveryQueryIn())
    partner_id = _partner_id()
    limit = _number(args, "limit", 200, services.PAGE) or services.PAGE
    before = _number(args, "before", 2**31 - 1, None)
    rows = services.deliveries(
        partner_id=partner_id, status=args.get("status"), before=before, limit=limit
    )
    items = [services.describe(row) for row in rows]
    next_before = rows[-1].id if len(rows) == limit else None
    return WebhookDeliveryPageOut().dump({"items": items, "next_before": next_before})


@bp.post("/deliveries/<int:delivery_id>/replay")
@require_api_key("webhooks:manage")
def replay(delivery_id: int):
    api_input.no_query()
    row = services.replay(delivery_id, partner_id=_partner_id())
    return WebhookDeliveryOut().dump(services.describe(row)), 202


def _endpoint(endpoint) -> dict:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events or []),
        "active": endpoint.active,
        "created_at": endpoint.created_at,
        "previous_secret_expires_at": endpoint.previous_signs_until(utcnow()),
    }


@bp.get("/endpoints")
@require_api_key("webhooks:manage")
def endpoints():
    api_input.query(FullFeedQueryIn())
    rows = services.endpoints_of(_partner_id())
    return WebhookEndpointListOut().dump({"items": [_endpoint(e) for e in rows]})


@bp.post("/endpoints")
@require_api_key("webhooks:manage")
def add_endpoint():
    """The secret is in this answer only (no-store)."""
    api_input.no_query()
    data = api_input.json_body(WebhookEndpointIn(), _l("Tham số không hợp lệ: %(names)s"))
    endpoint, secret = services.add_endpoint(_partner_id(), data["url"], data.get("events"))
    body = WebhookEndpointCreatedOut().dump({**_endpoint(endpoint), "secret": secret})
    headers = {"Cache-Control": "no-store", "Location": "/api/v1/webhooks/endpoints"}
    return body, 201, headers


@bp.post("/endpoints/<int:endpoint_id>/rotate-secret")
@require_api_key("webhooks:manage")
def rotate_secret(endpoint_id: int):
    """The new secret is in this answer only (no-store); the previous one signs too until
    previous_secret_expires_at."""
    api_input.no_query()
    endpoint, secret = services.rotate_secret(
        _partner_id(), endpoint_id, actor_role="partner_api", via=f"api_key {g.api_key.prefix}"
    )
    body = WebhookSecretRotatedOut().dump({**_endpoint(endpoint), "secret": secret})
    return body, 200, {"Cache-Control": "no-store"}
