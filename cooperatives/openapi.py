"""OpenAPI description of the cooperatives package's JSON endpoints."""

from __future__ import annotations

PROBLEM = {"$ref": "#/components/responses/Problem"}

SCHEMAS = {
    "Place": {
        "type": "object",
        "properties": {"code": {"type": "integer"}, "name": {"type": "string"}},
        "required": ["code", "name"],
    },
}

PATHS = {
    "/api/v1/places/provinces": {
        "get": {
            "summary": "The 34 provinces and centrally-run cities in force since 1 July 2025",
            "tags": ["places"],
            "responses": {
                "200": {
                    "description": "provinces, sorted by name without accents",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "provinces": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Place"},
                                    }
                                },
                            }
                        }
                    },
                }
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
                "200": {
                    "description": "the province and its communes",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "province": {"$ref": "#/components/schemas/Place"},
                                    "wards": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Place"},
                                    },
                                },
                            }
                        }
                    },
                },
                "404": PROBLEM,
            },
        }
    },
}
