"""What every request used to pay for is now paid only where needed — without losing any of
it: security headers on every answer (a view's own policy kept, HSTS only over HTTPS in
production), CSRF on every unsafe method, rate-limit headers on limited views, no session
cookie for a visitor who has none."""

from __future__ import annotations

import pytest
from flask import Response
from sqlalchemy import event, text

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


@pytest.fixture
def sessions_made(monkeypatch):
    """How many SQLAlchemy sessions the requests build (the scoped registry's factory)."""
    made = []
    create = db.session.registry.createfunc

    def counting():
        made.append(create())
        return made[-1]

    monkeypatch.setattr(db.session.registry, "createfunc", counting)
    return made


@pytest.fixture
def app_with_probe_views(fresh_app):
    app = fresh_app()

    @app.get("/_needs-nothing")
    def needs_nothing():
        return "ok"

    @app.get("/_reads-database")
    def reads_database():
        return str(db.session.execute(text("SELECT 1")).scalar())

    @app.get("/_fails-after-reading")
    def fails_after_reading():
        db.session.execute(text("SELECT 1"))
        raise RuntimeError("boom")

    return app


def test_a_request_that_needs_no_database_builds_no_session(app_with_probe_views, sessions_made):
    response = app_with_probe_views.test_client().get("/_needs-nothing")
    assert response.status_code == 200
    assert sessions_made == []  # the teardown used to build one only to close it


def test_a_request_that_used_the_database_still_gives_its_connection_back(
    app_with_probe_views, sessions_made, monkeypatch
):
    app = app_with_probe_views
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # the 500 page, as in production
    with app.app_context():
        engine = db.engine
    held = len(db.session.registry.registry)
    returned = []

    def checked_in(*_):
        returned.append(1)

    event.listen(engine, "checkin", checked_in)
    try:
        client = app.test_client()
        assert client.get("/_reads-database").get_data(as_text=True) == "1"
        assert client.get("/_fails-after-reading").status_code == 500
    finally:
        event.remove(engine, "checkin", checked_in)
    assert len(sessions_made) == 2
    assert len(returned) == 2  # each session closed, its connection back in the pool
    assert all(not session.in_transaction() for session in sessions_made)
    assert len(db.session.registry.registry) == held  # and forgotten once its context ended


def test_a_cookieless_get_pays_for_no_csrf_check_cart_or_language(
    app_with_probe_views, monkeypatch
):
    from core.security import csrf

    checked = []
    monkeypatch.setattr(csrf, "protect", lambda **_: checked.append(1))
    client = app_with_probe_views.test_client()
    response = client.get("/_needs-nothing")
    assert checked == []
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    assert client.post("/_needs-nothing").status_code == 405  # a POST is still checked first
    assert checked == [1]


def test_the_locale_is_parsed_once_per_process_not_per_request(app, monkeypatch):
    from babel import Locale

    def page(path):  # a new visitor each time (a ?lang= is remembered in a cookie)
        return app.test_client().get(path).get_data(as_text=True)

    page("/does-not-exist")
    page("/does-not-exist?lang=en")  # both languages met once by this process
    parsed = []
    parse = Locale.parse.__func__

    def counting_parse(cls, identifier, *args, **kwargs):
        parsed.append(identifier)
        return parse(cls, identifier, *args, **kwargs)

    monkeypatch.setattr(Locale, "parse", classmethod(counting_parse))
    assert "Không tìm thấy" in page("/does-not-exist")
    assert "Page not found." in page("/does-not-exist?lang=en")
    assert parsed  # Flask-Babel still asks…
    assert all(isinstance(identifier, Locale) for identifier in parsed)  # …with nothing to parse


def test_stacked_limits_answer_their_headers_once_and_a_429_says_when_to_retry(fresh_app):
    from core.security import limiter

    app = fresh_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")

    @app.get("/_twice-limited")
    @limiter.limit("2/minute")
    @limiter.shared_limit("5/minute", scope="_probe")
    def twice_limited():
        return "ok"

    @app.get("/_unlimited")
    def unlimited():
        return "ok"

    client = app.test_client()
    answers = [client.get("/_twice-limited") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    for answer in answers:
        assert len(answer.headers.getlist("X-RateLimit-Limit")) == 1
        assert len(answer.headers.getlist("X-RateLimit-Remaining")) == 1
    assert answers[0].headers["X-RateLimit-Limit"] == "2"
    assert "Retry-After" in answers[2].headers
    assert "X-RateLimit-Limit" not in client.get("/_unlimited").headers
