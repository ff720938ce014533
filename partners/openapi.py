"""OpenAPI description of the partner API (feeds)."""

from __future__ import annotations

from core.openapi import json_response
from partners.feeds import CURSOR_PATTERN
from partners.schemas import SCHEMAS as FEED_SCHEMAS
from partners.schemas import FeedPageOut, OrderIn, PartnerOrderOut  # noqa: F401
from partners.webhooks.schemas import WebhookDeliveryOut, WebhookDeliveryPageOut

SCHEMAS = (*FEED_SCHEMAS, WebhookDeliveryPageOut, WebhookDeliveryOut)

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
    "(`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` with the `whsec_` secret). Retried with "
    "exponential backoff; after the last attempt a delivery is `failed` and can be replayed. "
    "product.updated and stock.changed are coalesced: at most one per product per minute, "
    "with the product as it is when sent. Needs scope webhooks:manage."
)

ORDER_IN = {
    "type": "object",
    "additionalProperties": False,
    "required": ["lines", "contact"],
    "properties": {
        "lines": {
            "type": "array",
            "minItems": 1,
            "maxItems": 50,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["variant_id", "quantity"],
                "properties": {
                    "variant_id": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "expected_price_vnd": {"type": "integer", "minimum": 0},
                },
            },
        },
        "contact": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "phone", "province_code", "ward_code", "street"],
            "properties": {
                "name": {"type": "string", "maxLength": 120},
                "phone": {"type": "string", "maxLength": 20},
                "email": {"type": "string", "maxLength": 254},
                "province_code": {"type": "integer", "minimum": 1, "maximum": 999},
                "ward_code": {"type": "integer", "minimum": 1, "maximum": 999999},
                "street": {"type": "string", "maxLength": 200},
                "note": {"type": "string", "maxLength": 1000},
            },
        },
        "payment_method": {"type": "string", "enum": ["cod", "partner"]},
    },
}

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
