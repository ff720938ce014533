"""OpenAPI description of the partner API (feeds)."""

from __future__ import annotations

from core.openapi import json_response
from partners.feeds import CURSOR_PATTERN
from partners.schemas import SCHEMAS, FeedPageOut  # noqa: F401

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
}
