"""OpenAPI description of the partner API (feeds)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from core.openapi import json_response
from partners.feeds import CURSOR_PATTERN
from partners.schemas import SCHEMAS as FEED_SCHEMAS
from partners.schemas import FeedPageOut, OrderIn, PartnerOrderOut
from partners.webhooks.schemas import (
    WebhookDeliveryOut,
    WebhookDeliveryPageOut,
    WebhookEndpointCreatedOut,
    WebhookEndpointIn,
    WebhookEndpointListOut,
    WebhookSecretRotatedOut,
)

SCHEMAS = (
    *FEED_SCHEMAS,
    WebhookDeliveryPageOut,
    WebhookDeliveryOut,
    WebhookEndpointListOut,
    WebhookEndpointCreatedOut,
    WebhookSecretRotatedOut,
)


def _rule(rule: Any, *, array: bool) -> dict[str, Any]:
    """A marshmallow validator as JSON Schema keywords (unknown validators add nothing)."""
    if isinstance(rule, validate.Length):
        low, high = ("minItems", "maxItems") if array else ("minLength", "maxLength")
        found = {low: rule.min, high: rule.max}
    elif isinstance(rule, validate.Range):
        found = {"minimum": rule.min, "maximum": rule.max}
    elif isinstance(rule, validate.OneOf):
        found = {"enum": list(rule.choices)}
    elif isinstance(rule, validate.Regexp):
        found = {"pattern": rule.regex.pattern}
    else:
        found = {}
    return {k: v for k, v in found.items() if v is not None}


def _input_field(field: fields.Field) -> dict[str, Any]:
    """JSON Schema of one `…In` field, its validators included (lengths, ranges, choices)."""
    if isinstance(field, fields.Nested):
        return input_schema(field.nested)  # type: ignore[arg-type]
    if isinstance(field, fields.List):
        described: dict[str, Any] = {"type": "array", "items": _input_field(field.inner)}
    elif isinstance(field, fields.Integer):
        described = {"type": "integer"}
    elif isinstance(field, fields.Boolean):
        described = {"type": "boolean"}
    else:
        described = {"type": "string"}
    for rule in field.validators:
        described.update(_rule(rule, array=described["type"] == "array"))
    if "description" in field.metadata:
        described["description"] = field.metadata["description"]
    return described


def input_schema(schema: type[Schema] | Schema) -> dict[str, Any]:
    """The request body an `…In` schema loads (unknown fields are refused: no others)."""
    instance = schema() if isinstance(schema, type) else schema
    loaded = {f.data_key or k: f for k, f in instance.load_fields.items()}
    body: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: _input_field(f) for name, f in loaded.items()},
    }
    required = [name for name, f in loaded.items() if f.required]
    if required:
        body["required"] = required
    return body


PROBLEM = {"$ref": "#/components/responses/Problem"}
SECURITY = [{"apiKey": []}]
ERRORS = {
    "401": PROBLEM,
    "403": PROBLEM,
    "422": PROBLEM,
    "429": PROBLEM,
}
CONDITIONAL = [
    {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}},
]
FEED_NOTE = (
    "Published products of producers that chose this partner; price in đồng; availability "
    "from live stock; OCOP stars only while the certificate is valid; GTIN only where real. "
    "Streams; gzip with Accept-Encoding: gzip; ETag/If-None-Match → 304 and Last-Modified."
)

WEBHOOK_NOTE = (
    "Events (product.updated, product.removed, stock.changed, order.status_changed, "
    "lot.recalled) are POSTed to the partner's endpoints as `{type, timestamp, data}`, signed per "
    "Standard Webhooks: headers webhook-id, webhook-timestamp and webhook-signature "
    "(`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` with the `whsec_` secret; after a "
    "secret rotation, two space-separated signatures until the overlap ends: accept the message "
    "when any of them verifies). Retried with "
    "exponential backoff; after the last attempt a delivery is `failed` and can be replayed. "
    "product.updated and stock.changed are coalesced: at most one per product per minute, "
    "with the product as it is when sent. Needs scope webhooks:manage."
)

ENDPOINT_NOTE = (
    "Events are POSTed to public http(s) addresses only: a URL whose host is, or resolves to, a "
    "loopback, private, link-local, shared, multicast or reserved address is refused (422, "
    "problem+json `about:blank#forbidden_address`), and every delivery checks the address again "
    "after DNS resolution. The `whsec_…` secret signs every delivery (Standard Webhooks); keep "
    "it, it is not shown again. Needs scope webhooks:manage."
)

ROTATE_NOTE = (
    "A new `whsec_…` secret for this endpoint, in this answer only (no-store). Until "
    "`previous_secret_expires_at` (now + WEBHOOK_SECRET_OVERLAP_HOURS, 24 h by default) every "
    "delivery carries two signatures in webhook-signature, `v1,<new> v1,<previous>`, so the "
    "receiver can switch to the new secret without losing an event; afterwards only the new "
    "one signs. Rotating again during an overlap drops the oldest secret at once (only the "
    "newest two sign). Another partner's endpoint is 404. Needs scope webhooks:manage."
)

ORDER_IN = input_schema(OrderIn)

PATHS = {
    "/api/v1/feeds/products": {
        "get": {
            "summary": "Product feed (JSON) with cursor pagination and tombstones",
            "description": FEED_NOTE
            + " With `updated_since`, products that changed since then; those no longer listed "
            "(unpublished, archived, producer withdrew) come as `{id, removed: true}`. Follow "
            "`next_cursor` until it is null.",
            "tags": ["partners"],
            "security": SECURITY,
            "parameters": [
                {
                    "name": "cursor",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "pattern": CURSOR_PATTERN},
                    "description": "next_cursor of the previous page",
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100000},
                },
                {
                    "name": "updated_since",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "format": "date-time"},
                },
                *CONDITIONAL,
            ],
            "responses": {
                "200": json_response("a page of the feed", FeedPageOut),
                "304": {"description": "unchanged since the ETag sent"},
                **ERRORS,
            },
        }
    },
    "/api/v1/feeds/products.xml": {
        "get": {
            "summary": "Google Merchant Center feed (RSS 2.0, g: namespace), one item per variant",
            "description": FEED_NOTE,
            "tags": ["partners"],
            "security": SECURITY,
            "parameters": CONDITIONAL,
            "responses": {
                "200": {"description": "RSS 2.0", "content": {"application/xml": {}}},
                "304": {"description": "unchanged since the ETag sent"},
                **ERRORS,
            },
        }
    },
    "/api/v1/feeds/products.csv": {
        "get": {
            "summary": "Meta (Facebook/Instagram) catalogue CSV, one row per variant",
            "description": FEED_NOTE,
            "tags": ["partners"],
            "security": SECURITY,
            "parameters": CONDITIONAL,
            "responses": {
                "200": {"description": "CSV", "content": {"text/csv": {}}},
                "304": {"description": "unchanged since the ETag sent"},
                **ERRORS,
            },
        }
    },
    "/api/v1/orders": {
        "post": {
            "summary": "Place an order (same stock and no-oversell guarantee as the shop)",
            "description": "Needs an Idempotency-Key header: the same key and body return the "
            "same order (200); the same key with another body is 409. Only products in this "
            "partner's feed. Payment: `partner` (the partner collects and pays) or `cod` (cash "
            "on delivery, the default).",
            "tags": ["partners"],
            "security": SECURITY,
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{8,64}$"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ORDER_IN}},
            },
            "responses": {
                "201": json_response("the order", PartnerOrderOut),
                "200": json_response("the order made before with this key", PartnerOrderOut),
                "409": PROBLEM,
                **ERRORS,
            },
        }
    },
    "/api/v1/orders/{ref}": {
        "get": {
            "summary": "One of this partner's orders, with each producer's status",
            "tags": ["partners"],
            "security": SECURITY,
            "parameters": [
                {"name": "ref", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": json_response("the order", PartnerOrderOut),
                "404": PROBLEM,
                **ERRORS,
            },
        }
    },
    "/api/v1/webhooks/deliveries": {
        "get": {
            "summary": "This partner's webhook delivery log, newest first",
            "description": WEBHOOK_NOTE,
            "tags": ["webhooks"],
            "security": SECURITY,
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["pending", "delivered", "failed"]},
                },
                {
                    "name": "before",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                    "description": "next_before of the previous page",
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                },
            ],
            "responses": {
                "200": json_response("a page of deliveries", WebhookDeliveryPageOut),
                **ERRORS,
            },
        }
    },
    "/api/v1/webhooks/endpoints": {
        "get": {
            "summary": "This partner's webhook endpoints",
            "tags": ["webhooks"],
            "security": SECURITY,
            "responses": {
                "200": json_response("the endpoints", WebhookEndpointListOut),
                **ERRORS,
            },
        },
        "post": {
            "summary": "Register an endpoint; its signing secret is in this answer only",
            "description": ENDPOINT_NOTE,
            "tags": ["webhooks"],
            "security": SECURITY,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": input_schema(WebhookEndpointIn)}},
            },
            "responses": {
                "201": json_response("the endpoint and its secret", WebhookEndpointCreatedOut),
                **ERRORS,
            },
        },
    },
    "/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret": {
        "post": {
            "summary": "Rotate an endpoint's signing secret; both sign during the overlap",
            "description": ROTATE_NOTE,
            "tags": ["webhooks"],
            "security": SECURITY,
            "parameters": [
                {
                    "name": "endpoint_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                }
            ],
            "responses": {
                "200": json_response(
                    "the endpoint, its new secret and the overlap's end", WebhookSecretRotatedOut
                ),
                "404": PROBLEM,
                **ERRORS,
            },
        }
    },
    "/api/v1/webhooks/deliveries/{delivery_id}/replay": {
        "post": {
            "summary": "Send one of this partner's deliveries again (same webhook-id)",
            "tags": ["webhooks"],
            "security": SECURITY,
            "parameters": [
                {
                    "name": "delivery_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                }
            ],
            "responses": {
                "202": json_response("queued to be sent again", WebhookDeliveryOut),
                "404": PROBLEM,
                "409": PROBLEM,
                **ERRORS,
            },
        }
    },
}
