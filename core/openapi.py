"""The API description at /api/v1/openapi.json, assembled from what each domain registers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, current_app, jsonify
from marshmallow import Schema, fields

from core.urls import public_url

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


def add_paths(
    app: Flask,
    paths: dict[str, Any],
    schemas: dict[str, Any] | Iterable[type[Schema]] | None = None,
) -> None:
    """Called from a domain's init_app with its OpenAPI path items and the marshmallow `…Out`
    schemas its responses are dumped with (described as components, nested ones too)."""
    registry = app.extensions.setdefault("openapi", {"paths": {}, "schemas": {}})
    registry["paths"].update(paths)
    if isinstance(schemas, dict):
        registry["schemas"].update(schemas)
    else:
        for schema in schemas or ():
            _describe(schema, registry["schemas"])


def ref(schema: type[Schema]) -> dict[str, str]:
    """A reference to the component that describes `schema` (for a path's responses)."""
    return {"$ref": f"#/components/schemas/{_name(schema)}"}


def json_response(description: str, schema: type[Schema], many: bool = False) -> dict[str, Any]:
    """A 200 response documented by the `…Out` schema the view dumps with."""
    body: dict[str, Any] = {"type": "array", "items": ref(schema)} if many else ref(schema)
    return {"description": description, "content": {"application/json": {"schema": body}}}


def _name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Out") or cls.__name__


_TYPES: tuple[tuple[type[fields.Field], dict[str, Any]], ...] = (
    (fields.Boolean, {"type": "boolean"}),
    (fields.Integer, {"type": "integer"}),
    (fields.Float, {"type": "number"}),
    (fields.DateTime, {"type": "string", "format": "date-time"}),
    (fields.Date, {"type": "string", "format": "date"}),
    (fields.String, {"type": "string"}),
    (fields.Dict, {"type": "object"}),
)


def _field(field: fields.Field, components: dict[str, Any]) -> dict[str, Any]:
    described: dict[str, Any] = dict(field.metadata.get("openapi", {}))
    if not described:
        if isinstance(field, fields.Nested):
            described = ref(_describe(field.nested, components))  # type: ignore[arg-type]
            if field.many:
                described = {"type": "array", "items": described}
        elif isinstance(field, fields.List):
            described = {"type": "array", "items": _field(field.inner, components)}
        else:
            described = next((dict(t) for kind, t in _TYPES if isinstance(field, kind)), {})
    if field.allow_none and "type" in described:
        described["type"] = [described["type"], "null"]
    elif field.allow_none and "$ref" in described:
        described = {"anyOf": [described, {"type": "null"}]}
    if "description" in field.metadata:
        described["description"] = field.metadata["description"]
    return described


def _describe(schema: Any, components: dict[str, Any]) -> type[Schema]:
    cls = schema if isinstance(schema, type) else type(schema)
    name = _name(cls)
    if name not in components:
        components[name] = {}  # placeholder: a schema may nest itself
        instance = cls()
        properties = {
            (field.data_key or key): _field(field, components)
            for key, field in instance.dump_fields.items()
        }
        required = [
            field.data_key or key
            for key, field in instance.dump_fields.items()
            if field.required or field.metadata.get("always", False)
        ]
        body: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            body["required"] = required
        if cls.__doc__:
            body["description"] = " ".join(cls.__doc__.split())
        components[name] = body
    return cls


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
        "servers": [{"url": public_url()}],
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
