"""schemathesis against /api/v1/openapi.json through the WSGI app (no network): every operation
of the document with generated parameters, every response checked against the document
(status codes, content types, problem+json on errors, no 500). Bounded for CI; set
SCHEMATHESIS_EXAMPLES for a bigger run."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.security import limiter
from tests.hardening.world import build_world

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "40"))


def test_every_api_operation_answers_as_documented(app):
    """schemathesis's pytest plugin needs pytest internals that pytest 9 dropped: its strategies
    run here through Hypothesis directly, one operation after another."""
    with app.app_context():
        build_world()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7, [op.label for op in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case):
            limiter.reset()
            # A GTIN's check digit cannot be said in JSON Schema: a well-formed GTIN with a
            # wrong check digit is rightly a 400, so "schema-valid data accepted" cannot hold.
            excluded = [positive_data_acceptance] if case.path.startswith("/01/") else []
            # Its WSGI transport asks for gzip (requests' default headers) but does not
            # decompress; the app's GzipMiddleware answers gzip to such clients (Content-Encoding
            # set, tested in tests/core). Ask for the plain body so it can be checked.
            case.call_and_validate(
                headers={"Accept-Encoding": "identity"}, excluded_checks=excluded
            )

        answers_as_documented()


ACCEPTS = [
    None,
    "*/*",
    "text/html",
    "application/json",
    "application/problem+json",
    "application/ld+json",
    "application/linkset+json",
]
BAD_PARTS = ["0", "²²²²²²²²", "٣٤٥", "9" * 25, "-1", "x", "00000000"]


def _documented_types(document: dict, operation: dict, status: int) -> set[str]:
    response = operation["responses"].get(str(status))
    assert response is not None, f"status {status} is not documented"
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return set(response.get("content", {}))


def test_errors_have_a_documented_content_type_for_every_accept_header(app, client):
    """schemathesis sends one Accept header; clients of the resolver send JSON-LD or linkset
    types: an error must still be one of the documented forms (problem+json for JSON)."""
    document = client.get("/api/v1/openapi.json").get_json()
    checked = 0
    for path, item in document["paths"].items():
        operation = item.get("get")
        if operation is None:  # POST-only operations (order intake) are schemathesis's
            continue
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        for bad in BAD_PARTS if names else [""]:
            url = path
            for name in names:
                url = url.replace("{" + name + "}", bad)
            for accept in ACCEPTS:
                limiter.reset()
                headers = {"Accept": accept} if accept else {}
                response = client.get(url, headers=headers)
                assert response.status_code < 500, (url, accept)
                if response.status_code < 400:
                    continue
                documented = _documented_types(document, operation, response.status_code)
                assert response.mimetype in documented, (url, accept, response.mimetype)
                if accept and "json" in accept:
                    assert response.mimetype != "text/html", (url, accept)
                checked += 1
    assert checked > 50
