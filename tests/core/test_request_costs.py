"""What every request used to pay for is now paid only where needed — without losing any of
it: security headers on every answer (a view's own policy kept, HSTS only over HTTPS in
production), CSRF on every unsafe method, rate-limit headers on limited views, no session
cookie for a visitor who has none."""

from __future__ import annotations

import pytest
from flask import Response

from core.db import db
from core.security import CONTENT_SECURITY_POLICY
from wsgi import create_app


@pytest.fixture
def fresh_app(database_url, tmp_path):
    built = []

    def build(**config):
        settings = {
            "APP_ENV": "testing",
            "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "PUBLIC_BASE_URL": "https://choque.test",
            **config,
        }
        built.append(create_app(settings))
        return built[-1]

    yield build
    for app in built:  # close their pooled connections (warnings are errors)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("path", ["/healthz", "/does-not-exist", "/api/v1/does-not-exist"])
def test_every_answer_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in headers  # not production, not HTTPS


def test_a_views_own_policy_is_kept_and_not_doubled(fresh_app):
    app = fresh_app()

    @app.get("/_own-policy")
    def own_policy():
        response = Response("ok")
        response.headers["content-security-policy"] = "default-src 'none'"
        return response

    headers = app.test_client().get("/_own-policy").headers
    assert headers.getlist("Content-Security-Policy") == ["default-src 'none'"]


def test_hsts_only_over_https_in_production(fresh_app):
    app = fresh_app(APP_ENV="production", SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    assert "Strict-Transport-Security" in client.get("/healthz", base_url="https://x").headers
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def test_csrf_still_guards_every_unsafe_method(fresh_app):
    app = fresh_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert client.get("/login").status_code == 200
    assert client.post("/login", data={"identifier": "0912345678"}).status_code == 400
    unguarded = fresh_app(WTF_CSRF_ENABLED=False).test_client()  # what 400 means here
    assert unguarded.post("/login", data={"identifier": "0912345678"}).status_code != 400


def test_limited_views_still_say_their_limits_and_others_do_not(client):
    assert "X-RateLimit-Limit" in client.get("/s/AAAAAAAAAAAAA").headers
    assert "X-RateLimit-Limit" not in client.get("/healthz").headers


def test_a_visitor_without_cookie_gets_none(client):
    response = client.get("/healthz")
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
