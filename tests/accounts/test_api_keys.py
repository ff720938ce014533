"""Partner API keys: format, bearer authentication, revocation, scopes, admin pages."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select, update

from accounts.api_keys import create_api_key, require_api_key, revoke_api_key
from accounts.models import ApiKey, AuditEntry
from core.db import db, utcnow
from tests.conftest import login
from tests.factories import make_user

KEY_FORMAT = re.compile(r"^cq_([a-z0-9]{8})_[A-Za-z0-9]{40}$")


@pytest.fixture
def partner_app(build_app):
    """An app with one partner endpoint that needs the scope catalog:read."""
    new_app = build_app()

    @new_app.get("/api/v1/_probe")
    @require_api_key("catalog:read")
    def probe():
        return {"partner": g.api_key.name}

    return new_app


def _new_key(app, scopes=("catalog:read",), name="Postmart") -> tuple[int, str]:
    with app.app_context():
        key, plain = create_api_key(name, list(scopes))
        db.session.commit()
        return key.id, plain


def _call(app, header: str | None):
    headers = {"Authorization": header} if header is not None else {}
    return app.test_client().get("/api/v1/_probe", headers=headers)


def test_key_is_shown_once_and_stored_only_as_a_hash(app):
    key_id, plain = _new_key(app)

    match = KEY_FORMAT.match(plain)
    assert match
    with app.app_context():
        key = db.session.get(ApiKey, key_id)
        assert key.prefix == match.group(1)
        assert key.key_hash == hashlib.sha256(plain.encode()).hexdigest()
        assert plain not in (key.key_hash, key.prefix)
        assert key.scopes == ["catalog:read"]
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "api_key_created"))
        assert entry.subject_id == key_id


def test_valid_key_reaches_the_endpoint(partner_app):
    _key_id, plain = _new_key(partner_app)

    response = _call(partner_app, f"Bearer {plain}")

    assert response.status_code == 200
    assert response.get_json() == {"partner": "Postmart"}


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer cq_short_abc",
        "Bearer cq_abcdefgh_" + "A" * 40,  # well formed, unknown prefix
    ],
)
def test_missing_or_malformed_keys_get_401_problem_json(partner_app, header):
    _new_key(partner_app)

    response = _call(partner_app, header)

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["status"] == 401


def test_right_prefix_with_wrong_secret_is_refused(partner_app):
    _key_id, plain = _new_key(partner_app)
    forged = plain[:-1] + ("a" if plain[-1] != "a" else "b")

    assert _call(partner_app, f"Bearer {forged}").status_code == 401


def test_revoked_key_is_refused(partner_app):
    key_id, plain = _new_key(partner_app)
    with partner_app.app_context():
        revoke_api_key(key_id, actor_id=None)
        db.session.commit()

    response = _call(partner_app, f"Bearer {plain}")

    assert response.status_code == 401
    assert "thu hồi" in response.get_json()["title"]


def test_key_without_the_scope_gets_403(partner_app):
    _key_id, plain = _new_key(partner_app, scopes=("orders:read",))

    response = _call(partner_app, f"Bearer {plain}")

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_last_use_is_recorded_at_most_once_a_minute(partner_app):
    key_id, plain = _new_key(partner_app)

    _call(partner_app, f"Bearer {plain}")
    with partner_app.app_context():
        first = db.session.get(ApiKey, key_id).last_used_at
    _call(partner_app, f"Bearer {plain}")
    with partner_app.app_context():
        second = db.session.get(ApiKey, key_id).last_used_at
        earlier = utcnow() - timedelta(minutes=5)
        db.session.execute(update(ApiKey).values(last_used_at=earlier))
        db.session.commit()
    _call(partner_app, f"Bearer {plain}")
    with partner_app.app_context():
        third = db.session.get(ApiKey, key_id).last_used_at

    assert first is not None
    assert second == first
    assert third > earlier + timedelta(minutes=4)


@pytest.mark.parametrize("scopes", ["", "   ", "Catalog read!", "a" * 80])
def test_malformed_scopes_are_refused(app, scopes):
    from core.errors import Invalid

    with app.app_context(), pytest.raises(Invalid):
        create_api_key("Postmart", scopes)


# --- admin pages ----------------------------------------------------------------------------


@pytest.fixture
def people(app):
    with app.app_context():
        admin = make_user(name="Quản trị", admin=True)
        lan = make_user(name="Bà Lan")
        db.session.commit()
        return {"admin": admin.id, "lan": lan.id}


def test_admin_pages_are_forbidden_to_other_users(client, app, people):
    key_id, _plain = _new_key(app)
    login(client, people["lan"])

    assert client.get("/admin/api-keys").status_code == 403
    created = client.post("/admin/api-keys", data={"name": "Voso", "scopes": "catalog:read"})
    assert created.status_code == 403
    assert client.post(f"/admin/api-keys/{key_id}/revoke").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(db.func.count(ApiKey.id))) == 1
        assert db.session.get(ApiKey, key_id).revoked_at is None


def test_admin_pages_send_anonymous_visitors_to_sign_in(client):
    response = client.get("/admin/api-keys")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/api-keys")


def test_admin_creates_a_key_and_sees_it_once(client, app, people):
    login(client, people["admin"])

    response = client.post(
        "/admin/api-keys", data={"name": "Postmart", "scopes": "catalog:read, orders:read"}
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    plain = re.search(r"cq_[a-z0-9]{8}_[A-Za-z0-9]{40}", html).group(0)
    listing = client.get("/admin/api-keys").get_data(as_text=True)
    assert "Postmart" in listing
    assert plain not in listing
    with app.app_context():
        key = db.session.scalar(select(ApiKey))
        assert key.scopes == ["catalog:read", "orders:read"]
        assert key.owner_id == people["admin"]


def test_admin_key_form_rejects_bad_scopes_and_saves_nothing(client, app, people):
    login(client, people["admin"])

    response = client.post("/admin/api-keys", data={"name": "Postmart", "scopes": "đọc hết!"})

    assert response.status_code == 422
    assert 'value="Postmart"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(ApiKey.id))) == 0


def test_admin_revokes_a_key(client, app, people):
    key_id, _plain = _new_key(app)
    login(client, people["admin"])

    response = client.post(f"/admin/api-keys/{key_id}/revoke")

    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(ApiKey, key_id).revoked_at is not None
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "api_key_revoked"))
        assert entry.actor_id == people["admin"]
    assert client.post("/admin/api-keys/999999/revoke").status_code == 404


def _admin_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("accounts_admin."):
            url = rule.rule.replace("<int:key_id>", "1")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, url


def test_every_admin_route_refuses_non_admins_and_anonymous_visitors(app, people):
    _new_key(app)
    routes = list(_admin_routes(app))
    assert len(routes) >= 3
    member = app.test_client()
    login(member, people["lan"])
    anonymous = app.test_client()

    for method, url in routes:
        assert member.open(url, method=method).status_code == 403, (method, url)
        response = anonymous.open(url, method=method)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login")
    with app.app_context():
        assert db.session.scalar(select(ApiKey.revoked_at)) is None
