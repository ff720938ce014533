"""schemathesis against the partner operations of /api/v1/openapi.json (bounded examples): no 500,
no response that breaks the document. Run with a valid key (the auth checks are the other
tests'), identity encoding (the WSGI transport does not decode gzip as HTTP clients do)."""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import ignored_auth

from core.db import db
from partners import services


def test_feeds(app):
    with app.app_context():
        _p, _k, plain = services.create_partner("ST", "feeds:read orders:write")
        db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    for path in (
        "/api/v1/feeds/products",
        "/api/v1/feeds/products.xml",
        "/api/v1/feeds/products.csv",
    ):
        operation = schema[path]["GET"]

        @given(case=operation.as_strategy())
        @settings(max_examples=40, suppress_health_check=list(HealthCheck), deadline=None)
        def run(case):
            response = case.call(
                headers={
                    **(case.headers or {}),
                    "Authorization": "Bearer " + plain,
                    "Accept-Encoding": "identity",
                }
            )
            if response.status_code >= 500:
                failures.append((case.query, response.text[:300]))
            try:
                case.validate_response(response, excluded_checks=[ignored_auth])
            except Exception as error:  # noqa: BLE001
                failures.append((path, case.query, case.headers, str(error)[:400]))

        run()
    assert failures == []
