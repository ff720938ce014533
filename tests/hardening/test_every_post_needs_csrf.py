"""CSRF on every POST route of the URL map, with protection ON (the suite's app turns it off).

A POST without a token, or with a forged one, is refused by the CSRF check itself (not by a
login or ownership check that happens to come first) as a manager, the admin and a council
member, with real objects in every id of the path, and the database is unchanged. A new POST
route is covered the day it is added.
"""

from __future__ import annotations

import re

import pytest

from core.security import limiter
from tests.conftest import login
from tests.hardening.world import build_world, fill, path_values, rules
from tests.snapshots import database_snapshot

# The only POST routes allowed without a token, and why.
EXEMPT = {
    # The language switch only sets the visitor's own display preference (session + cookie) and
    # redirects to one of our pages; it is posted from cached public pages (stamp pages) that
    # carry no per-session token. Forging it changes nothing but the language shown.
    "core.set_language": "display preference on cached public pages",
    # The partner API authenticates every request by its Bearer key, never by a cookie: a
    # forged cross-site form carries no key, so a CSRF token would protect nothing.
    "partners_api.create_order": "Bearer-key API, no cookie session",
    "partners_webhooks_api.replay": "Bearer-key API, no cookie session",
    "partners_webhooks_api.add_endpoint": "Bearer-key API, no cookie session",
    "partners_webhooks_api.rotate_secret": "Bearer-key API, no cookie session",
    # Bank-notification services sign each request with HMAC-SHA256 (BANK_WEBHOOK_SECRET); no
    # cookie session is read, so a forged cross-site form carries no valid signature.
    "transfers.bank_notification": "HMAC-signed server-to-server webhook, no cookie session",
    # Stripe's webhook is authenticated by its Stripe-Signature (HMAC of the body with
    # STRIPE_WEBHOOK_SECRET, at most 5 minutes old), never by a cookie; a forged one gets 400.
    "payments.stripe_webhook": "signed by Stripe, no cookie session",
}
CSRF_TITLE = "Phiên làm việc đã hết hạn"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SIGNED_IN = ("manager", "admin", "council")

FORM = {
    "name": "Bị giả mạo",
    "name_vi": "Bị giả mạo",
    "role": "manager",
    "status": "archived",
    "phone": "0987654321",
    "scopes": "catalog:read",
    "reason": "giả mạo",
    "first": "1",
    "last": "6",
    "quantity": "5",
    "pin": "123456",
    "password": "mat-khau-moi-rat-dai",
    "new_password": "mat-khau-moi-rat-dai",
    "confirm": "mat-khau-moi-rat-dai",
    "total_score": "80",
    "stars": "4",
    "identifier": "0987654321",
}


@pytest.fixture
def csrf_app(app):
    """The suite's app with CSRF protection on, as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield app
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def _post_routes(app) -> list[tuple[str, str]]:
    return [(r.endpoint, r.rule) for r in rules(app) if "POST" in r.methods]


def _is_csrf_refusal(response) -> bool:
    return response.status_code == 400 and CSRF_TITLE in response.get_data(as_text=True)


def test_every_post_route_refuses_a_missing_or_forged_token(csrf_app):
    with csrf_app.app_context():
        world = build_world()
        before = database_snapshot()
    values = path_values(world.a, world)
    routes = _post_routes(csrf_app)
    assert len(routes) >= 40, routes
    assert set(EXEMPT) <= {endpoint for endpoint, _rule in routes}
    refused = []
    for role in ("anonymous", *SIGNED_IN):
        client = csrf_app.test_client()
        if world.users[role] is not None:
            login(client, world.users[role])
        for endpoint, rule in routes:
            if endpoint in EXEMPT:
                continue
            url = fill(rule, values, endpoint)
            for data in (FORM, {**FORM, "csrf_token": "forged.token"}):
                limiter.reset()
                response = client.post(url, data=data)
                assert _is_csrf_refusal(response), (role, url, response.status_code)
            refused.append((role, endpoint))
    with csrf_app.app_context():
        assert database_snapshot() == before
    assert len(refused) >= 4 * 40


def test_a_valid_token_gets_past_the_check_on_every_post_route(csrf_app):
    """The refusals above are the CSRF check's: with the page's token, none is refused by it."""
    with csrf_app.app_context():
        world = build_world()
    values = path_values(world.a, world)
    client = csrf_app.test_client()
    login(client, world.users["manager"])
    page = client.get("/account")
    token = TOKEN.search(page.get_data(as_text=True)).group(1)
    for endpoint, rule in _post_routes(csrf_app):
        if endpoint in (
            "accounts.logout",
            "accounts.account_sessions",
            "accounts.account_password",
        ):
            continue  # would end this very session
        limiter.reset()
        response = client.post(fill(rule, values, endpoint), data={**FORM, "csrf_token": token})
        assert not _is_csrf_refusal(response), (endpoint, response.status_code)


def test_the_exempt_language_switch_changes_nothing_stored(csrf_app):
    with csrf_app.app_context():
        world = build_world()
        before = database_snapshot()
    client = csrf_app.test_client()
    login(client, world.users["manager"])
    response = client.post("/lang/en", data={"next": "/manage"})
    assert response.status_code == 303
    with csrf_app.app_context():
        assert database_snapshot() == before
