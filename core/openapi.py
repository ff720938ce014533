"""The API description at /api/v1/openapi.json, assembled from what each domain registers."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify

PROBLEM = {
    "description": "RFC 9457 problem details",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
# Public pages (resolver, stamp page) answer errors the way they answer success: an HTML page
# for browsers (Accept: text/html, or no preference), problem+json when JSON is asked for.
PROBLEM_OR_PAGE = {
    "description": "RFC 9457 problem details when JSON is asked for; an HTML page otherwise",
    "content": {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
        "text/html": {"schema": {"type": "string"}},
    },
}


def add_paths(app: Flask, paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """Called from a domain's init_app with its OpenAPI path items and component schemas."""
    registry = app.extensions.setdefault("openapi", {"paths": {}, "schemas": {}})
    registry["paths"].update(paths)
    registry["schemas"].update(schemas or {})


def document() -> dict[str, Any]:
    registry = current_app.extensions.get("openapi", {"paths": {}, "schemas": {}})
    schemas = {
        "Problem": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string", "description": "what went wrong, in plain words"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "object",
                    "description": "messages per input field",
                    "additionalProperties": {"type": "string"},
                },
            },
            "required": ["title", "status"],
        },
        **registry["schemas"],
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Chợ Quê API",
            "version": "1.0.0",
            "description": (
                "Public product, place and traceability data of Chợ Quê. Errors are "
                "application/problem+json. Paths under /api/v1 stay stable; fields are only "
                "ever added. Partner write access uses `Authorization: Bearer cq_…` keys."
            ),
        },
        "servers": [{"url": current_app.config["PUBLIC_BASE_URL"]}],
        "paths": dict(sorted(registry["paths"].items())),
        "components": {
            "schemas": schemas,
            "responses": {"Problem": PROBLEM, "ProblemOrPage": PROBLEM_OR_PAGE},
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "cq_<prefix>_<secret>",
                }
            },
        },
    }


def init_app(app: Flask) -> None:
    @app.get("/api/v1/openapi.json")
    def openapi_json():
        response = jsonify(document())
        response.cache_control.public = True
        response.cache_control.max_age = 3600
        return response

    add_paths(
        app,
        {
            "/healthz": {
                "get": {
                    "summary": "Liveness and database status",
                    "responses": {
                        "200": {"description": "the app and its database answer"},
                        "503": {"description": "the database does not answer"},
                    },
                }
            }
        },
    )
