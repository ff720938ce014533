"""OpenAPI description of the traceability package's JSON endpoints and resolver."""

from __future__ import annotations

from core.openapi import json_response
from traceability.lots.schemas import SCHEMAS, BatchOut, ChainReportOut  # noqa: F401

PROBLEM = {"$ref": "#/components/responses/Problem"}
PROBLEM_OR_PAGE = {"$ref": "#/components/responses/ProblemOrPage"}
BATCH_ID = {"name": "batch_id", "in": "path", "required": True, "schema": {"type": "integer"}}
READ_NOTE = (
    "Public for lots of published or archived products (Circular 02/2024/TT-BKHCN: trace data is "
    "meant to be shared); lots of draft products only for members of the producer."
)

PATHS = {
    "/api/v1/batches/{batch_id}": {
        "get": {
            "summary": "A lot: product, producer, origin, standards, lineage, events, chain head",
            "description": READ_NOTE,
            "tags": ["traceability"],
            "parameters": [BATCH_ID],
            "responses": {
                "200": json_response("the lot", BatchOut),
                "404": PROBLEM,
            },
        }
    },
    "/api/v1/batches/{batch_id}/epcis": {
        "get": {
            "summary": "The lot's events as an EPCIS 2.0 EPCISDocument (JSON-LD)",
            "description": READ_NOTE
            + " Validates against GS1's EPCIS 2.0 JSON schema; identifiers are GS1 Digital "
            "Link URIs where the product has a GTIN.",
            "tags": ["traceability"],
            "parameters": [BATCH_ID],
            "responses": {
                "200": {"description": "EPCISDocument", "content": {"application/ld+json": {}}},
                "404": PROBLEM,
            },
        }
    },
    "/api/v1/batches/{batch_id}/verify": {
        "get": {
            "summary": "Recompute the lot's event hash chain; reports the first broken link",
            "tags": ["traceability"],
            "parameters": [BATCH_ID],
            "responses": {
                "200": json_response("chain report", ChainReportOut),
                "404": PROBLEM,
            },
        }
    },
    "/01/{gtin}": {
        "get": {
            "summary": "GS1 Digital Link resolver (also /01/{gtin}/10/{lot} and …/21/{serial})",
            "description": (
                "Browsers get HTML; Accept: application/ld+json gets schema.org JSON-LD; "
                "Accept: application/linkset+json gets an RFC 9264 linkset. An unknown lot or "
                "serial of a known GTIN redirects (303) one level up; an unknown GTIN is 404; a "
                "malformed link is 400."
            ),
            "tags": ["resolver"],
            "parameters": [
                {
                    "name": "gtin",
                    "in": "path",
                    "required": True,
                    "description": "GTIN-8, -12, -13 or -14 (ASCII digits, GS1 check digit)",
                    "schema": {"type": "string", "pattern": "^([0-9]{8}|[0-9]{12,14})$"},
                }
            ],
            "responses": {
                "200": {"description": "the item, lot or product"},
                "303": {"description": "unknown lot or serial: the next level up"},
                "400": PROBLEM_OR_PAGE,
                "404": PROBLEM_OR_PAGE,
            },
        }
    },
    "/s/{code}": {
        "get": {
            "summary": "The stamp page a consumer reaches by scanning (records the scan)",
            "description": "HTML by default; Accept: application/ld+json gets JSON-LD.",
            "tags": ["resolver"],
            "parameters": [
                {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"description": "verdict and trace"},
                "404": {
                    "description": "no stamp has this code: the verdict says so, in the format "
                    "asked for (HTML page, JSON-LD or linkset)",
                    "content": {
                        "text/html": {"schema": {"type": "string"}},
                        "application/ld+json": {"schema": {"type": "object"}},
                        "application/linkset+json": {"schema": {"type": "object"}},
                    },
                },
            },
        }
    },
}
