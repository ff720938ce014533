"""OpenAPI description of the cooperatives package's JSON endpoints."""

from __future__ import annotations

from cooperatives.schemas import SCHEMAS, ProvincesOut, ProvinceWardsOut  # noqa: F401
from core.openapi import json_response

PROBLEM = {"$ref": "#/components/responses/Problem"}

PATHS = {
    "/api/v1/places/provinces": {
        "get": {
            "summary": "The 34 provinces and centrally-run cities in force since 1 July 2025",
            "tags": ["places"],
            "responses": {
                "200": json_response("provinces, sorted by name without accents", ProvincesOut)
            },
        }
    },
    "/api/v1/places/provinces/{code}/wards": {
        "get": {
            "summary": "The communes, wards and special zones of one province",
            "tags": ["places"],
            "parameters": [
                {"name": "code", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "responses": {
                "200": json_response("the province and its communes", ProvinceWardsOut),
                "404": PROBLEM,
            },
        }
    },
}
