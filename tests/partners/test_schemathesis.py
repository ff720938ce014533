"""schemathesis against the partner operations of /api/v1/openapi.json (bounded examples): no 500,
no response that breaks the document. Run with a valid key holding every partner scope (the
auth checks are the other tests'), identity encoding (the WSGI transport does not decode gzip
as HTTP clients do)."""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from core.db import db
from core.security import limiter
from partners import services
from partners.webhooks import services as webhooks

OPERATIONS = [
    ("/api/v1/feeds/products", "GET"),
    ("/api/v1/feeds/products.xml", "GET"),
    ("/api/v1/feeds/products.csv", "GET"),
    ("/api/v1/orders", "POST"),
    ("/api/v1/orders/{ref}", "GET"),
    ("/api/v1/webhooks/deliveries", "GET"),
    ("/api/v1/webhooks/deliveries/{delivery_id}/replay", "POST"),
    ("/api/v1/webhooks/endpoints", "GET"),
    ("/api/v1/webhooks/endpoints", "POST"),
    ("/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret", "POST"),
]
# What a schema cannot promise: that a variant exists and is in stock (orders), that a host
# is a public address (endpoints: inside addresses are rightly refused with 422).
NO_ACCEPTANCE_PROMISE = {("/api/v1/orders", "POST"), ("/api/v1/webhooks/endpoints", "POST")}


def test_partner_operations_answer_as_documented(app):
    with app.app_context():
        _p, _k, plain = services.create_partner(
            "ST", "feeds:read orders:write webhooks:manage", rate_limit="1000000/minute"
        )
        endpoint, _secret = webhooks.add_endpoint(_p.id, "http://127.0.0.1:9/hooks")
        db.session.commit()
        endpoint_id = endpoint.id
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    for path, method in OPERATIONS:
        operation = schema[path][method]
        excluded = [ignored_auth]
        if (path, method) in NO_ACCEPTANCE_PROMISE:
            excluded.append(positive_data_acceptance)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40, suppress_health_check=list(HealthCheck), deadline=None, database=None
        )
        def run(case):
            limiter.reset()
            response = case.call(
                headers={
                    **(case.headers or {}),
                    "Authorization": "Bearer " + plain,
                    "Accept-Encoding": "identity",
                }
            )
            if response.status_code >= 500:
                failures.append((path, method, case.query, case.body, response.text[:300]))
            try:
                case.validate_response(response, excluded_checks=excluded)
            except Exception as error:  # noqa: BLE001
                failures.append((path, method, case.query, case.body, str(error)[:400]))

        run()
    assert failures == []

    # a rotation that succeeds (the generated ids name no endpoint of this partner: 404)
    rotate = schema["/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret"]["POST"]
    case = rotate.Case(path_parameters={"endpoint_id": endpoint_id})
    response = case.call(headers={"Authorization": "Bearer " + plain})
    assert response.status_code == 200
    case.validate_response(response, excluded_checks=[ignored_auth])
