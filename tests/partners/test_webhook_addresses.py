"""Webhook endpoints reach public http(s) addresses only (no SSRF into the platform's network):
refused when registered (API problem+json, admin page, CLI) and again when sending, after DNS
resolution, on the address actually connected to. Loopback only with WEBHOOK_ALLOW_LOOPBACK."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import func, select

from core.db import db
from partners import services
from partners.webhooks import addresses, delivery
from partners.webhooks import services as webhooks
from partners.webhooks.models import WebhookEndpoint
from tests.partners.conftest import bearer
from tests.partners.test_webhooks import make_due, rename, rows

ENDPOINTS = "/api/v1/webhooks/endpoints"
INSIDE = [
    "http://127.0.0.1/hooks",
    "http://127.1.2.3:8080/hooks",
    "http://localhost/hooks",
    "http://api.localhost/hooks",
    "http://[::1]/hooks",
    "http://[::ffff:127.0.0.1]/hooks",
    "http://0.0.0.0/hooks",
    "http://0/hooks",
    "http://10.0.0.5/hooks",
    "http://172.16.3.4/hooks",
    "http://192.168.1.1/hooks",
    "http://100.64.0.1/hooks",
    "http://169.254.169.254/latest/meta-data",
    "http://[fe80::1]/hooks",
    "http://[fd00::1]/hooks",
    "http://224.0.0.1/hooks",
    "http://240.0.0.1/hooks",
    "http://255.255.255.255/hooks",
    "ftp://93.184.216.34/hooks",
    "file:///etc/passwd",
    "gopher://93.184.216.34:70/_hooks",
    "http://93.184.216.34\x00.evil/hooks",
]


@pytest.fixture
def manager_key(app):
    with app.app_context():
        partner, _key, plain = services.create_partner("Sàn", "feeds:read,webhooks:manage")
        db.session.commit()
        return partner.id, plain


@pytest.fixture
def no_loopback(app):
    saved = app.config["WEBHOOK_ALLOW_LOOPBACK"]
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    yield
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = saved


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WebhookEndpoint))


@pytest.mark.parametrize("url", INSIDE)
def test_inside_addresses_are_refused_at_registration(app, client, manager_key, no_loopback, url):
    response = client.post(ENDPOINTS, json={"url": url}, headers=bearer(manager_key[1]))

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "url" in response.get_json()["errors"]
    assert _count(app) == 0


def test_a_public_address_is_registered_and_its_secret_shown_once(app, client, manager_key):
    response = client.post(
        ENDPOINTS,
        json={"url": "https://93.184.216.34/hooks", "events": ["product.removed"]},
        headers=bearer(manager_key[1]),
    )

    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["product.removed"]
    listed = client.get(ENDPOINTS, headers=bearer(manager_key[1])).get_json()["items"]
    assert [e["url"] for e in listed] == ["https://93.184.216.34/hooks"]
    assert "secret" not in listed[0]


def test_endpoint_api_refuses_bad_bodies_other_scopes_and_shows_only_own(app, client, manager_key):
    key = bearer(manager_key[1])
    for body in ({"url": "https://93.184.216.34/h", "x": 1}, {"events": []}, [], "text"):
        answer = client.post(ENDPOINTS, json=body, headers=key)
        assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    with app.app_context():
        _p, _k, feed_only = services.create_partner("Chỉ đọc", "feeds:read")
        other, _k, other_key = services.create_partner("Khác", "webhooks:manage")
        webhooks.add_endpoint(other.id, "https://93.184.216.35/other")
        db.session.commit()
    assert client.get(ENDPOINTS, headers=bearer(feed_only)).status_code == 403
    assert client.get(ENDPOINTS, headers=key).get_json()["items"] == []
    assert len(client.get(ENDPOINTS, headers=bearer(other_key)).get_json()["items"]) == 1
    assert _count(app) == 1


def test_loopback_is_allowed_only_with_the_setting(app, ctx, manager_key):
    assert app.config["WEBHOOK_ALLOW_LOOPBACK"] is True  # tests: their receivers are local
    webhooks.add_endpoint(manager_key[0], "http://127.0.0.1:9/hooks")
    with pytest.raises(Exception, match="công khai"):
        webhooks.add_endpoint(manager_key[0], "http://10.1.2.3/hooks")
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    try:
        with pytest.raises(Exception, match="công khai"):
            webhooks.add_endpoint(manager_key[0], "http://127.0.0.1:9/hooks")
    finally:
        app.config["WEBHOOK_ALLOW_LOOPBACK"] = True
    db.session.rollback()


def test_the_admin_page_and_the_cli_refuse_inside_addresses(app, client, runner, manager_key):
    from tests.conftest import login
    from tests.factories import make_user

    with app.app_context():
        admin = make_user(name="Quản trị", admin=True)
        db.session.commit()
        admin_id = admin.id
    login(client, admin_id)
    page = client.post(
        f"/admin/partners/{manager_key[0]}/webhooks", data={"url": "http://192.168.0.10/x"}
    )
    assert page.status_code == 422
    result = runner.invoke(
        args=["webhooks", "add-endpoint", str(manager_key[0]), "http://169.254.169.254/x"]
    )
    assert result.exit_code != 0 and "whsec_" not in result.output
    assert _count(app) == 0


def test_a_name_that_now_resolves_inside_is_not_sent_to(hooked, receiver, monkeypatch, app):
    """DNS rebinding: registered while public, the name later points at this machine."""
    port = receiver.server.server_port
    endpoint = db.session.scalar(select(WebhookEndpoint))
    endpoint.url = f"http://hooks.partner.example:{port}/hooks"
    db.session.commit()
    real = socket.getaddrinfo

    def rebound(host, *args, **kwargs):
        if host == "hooks.partner.example":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    try:
        rename(hooked["product_id"], "Cam mới")
        make_due()
        delivery.deliver_due()
    finally:
        app.config["WEBHOOK_ALLOW_LOOPBACK"] = True
    assert receiver.requests == []
    sent = rows(event="product.updated")
    assert len(sent) == 1 and sent[0].status == "pending" and sent[0].last_status is None
    assert "ForbiddenAddress" in sent[0].last_response

    make_due()  # with loopback allowed (tests), the same name is delivered to
    delivery.deliver_due()
    assert len(receiver.requests) == 1
    assert rows(event="product.updated")[0].status == "delivered"


def test_the_guard_checks_every_resolved_address(monkeypatch):
    def mixed(host, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 443)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    with pytest.raises(addresses.ForbiddenAddress):
        addresses.check_url("https://mixed.example/hooks", allow_loopback=True)
    assert addresses.address_allowed("93.184.216.34")
    assert addresses.address_allowed("2606:4700:4700::1111")
    assert not addresses.address_allowed("::ffff:10.0.0.1")
    assert not addresses.address_allowed("fe80::1%eth0")


def test_production_refuses_loopback_webhooks_and_defaults_to_none(build_app, monkeypatch):
    monkeypatch.delenv("WEBHOOK_ALLOW_LOOPBACK", raising=False)
    assert build_app(APP_ENV="production").config["WEBHOOK_ALLOW_LOOPBACK"] is False
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")
    with pytest.raises(RuntimeError, match="WEBHOOK_ALLOW_LOOPBACK"):
        build_app(APP_ENV="production")
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "maybe")
    with pytest.raises(RuntimeError, match="WEBHOOK_ALLOW_LOOPBACK"):
        build_app()
