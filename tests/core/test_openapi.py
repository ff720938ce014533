"""The API description lists every JSON endpoint the app serves under /api/v1."""

import re


def test_openapi_describes_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    described = set(document["paths"])
    served = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json"
    }
    assert served - described == set()
    for path in described:
        assert "{" not in path or path in served or path.startswith(("/01/", "/s/"))


def test_every_error_response_is_problem_json(client):
    document = client.get("/api/v1/openapi.json").get_json()
    problem = document["components"]["responses"]["Problem"]
    assert "application/problem+json" in problem["content"]
