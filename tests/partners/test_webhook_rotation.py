"""Rotating an endpoint's signing secret with an overlap, checked from the partner's side: a real
receiver gets the POSTs and each signature in webhook-signature is verified here, by the Standard
Webhooks algorithm written out in the test (base64 HMAC-SHA256 of "id.timestamp.body" with the
base64-decoded part of whsec_), not by partners.webhooks.signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from accounts.models import AuditEntry
from core.db import db, unit_of_work, utcnow
from core.errors import NotFound
from core.i18n import LOCAL_TZ
from partners import services
from partners.webhooks import delivery
from partners.webhooks import services as webhooks
from partners.webhooks.models import WebhookEndpoint
from tests.conftest import login
from tests.factories import make_user
from tests.partners.conftest import bearer
from tests.partners.test_webhooks import make_due, rename, rows


def matching(secret: str, headers: dict[str, str], body: bytes) -> list[int]:
    """Positions of the signatures in webhook-signature that this secret made."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    found = []
    for position, part in enumerate(headers["webhook-signature"].split(" ")):
        version, _comma, signature = part.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            found.append(position)
    return found


def endpoint_id_of(partner_id: int) -> int:
    return webhooks.endpoints_of(partner_id)[0].id


def rotate(client, key: str, endpoint_id: int):
    return client.post(
        f"/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret", headers=bearer(key)
    )


def send_one(product_id: int, name: str) -> None:
    rename(product_id, name)
    make_due()
    delivery.deliver_due()


def later(monkeypatch, hours: float) -> None:
    """The sender's clock moves on (as if `hours` had passed)."""
    shift = timedelta(hours=hours)
    monkeypatch.setattr(delivery, "utcnow", lambda: utcnow() + shift)


def test_during_the_overlap_both_secrets_verify_and_after_it_only_the_new_one(
    app, hooked, receiver, client, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_SECRET_OVERLAP_HOURS", 6)
    old = hooked["secret"]
    endpoint_id = endpoint_id_of(hooked["partner_id"])
    send_one(hooked["product_id"], "Trước khi đổi khoá")
    (before,) = receiver.requests
    assert matching(old, *before) == [0] and len(before[0]["webhook-signature"].split()) == 1
    first_id = rows(event="product.updated")[0].id
    db.session.close()

    started = utcnow()
    answer = rotate(client, hooked["key"], endpoint_id)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    new = answer.json["secret"]
    assert new.startswith("whsec_") and new != old
    ends = datetime.fromisoformat(answer.json["previous_secret_expires_at"])
    assert started + timedelta(hours=6) <= ends <= utcnow() + timedelta(hours=6)
    assert answer.json["id"] == endpoint_id

    # during the overlap: a new event and a replay of one sent before the rotation
    send_one(hooked["product_id"], "Trong lúc chuyển khoá")
    replayed = client.post(
        f"/api/v1/webhooks/deliveries/{first_id}/replay", headers=bearer(hooked["key"])
    )
    assert replayed.status_code == 202
    delivery.deliver_due()
    during = receiver.requests[1:]
    assert len(during) == 2
    for headers, body in during:
        assert len(headers["webhook-signature"].split(" ")) == 2
        assert matching(new, headers, body) == [0]  # the new secret's signature first
        assert matching(old, headers, body) == [1]
        Webhook(old).verify(body, headers)  # a receiver still on the old secret
        Webhook(new).verify(body, headers)  # one already switched

    # after the overlap: only the new secret signs, replays included
    later(monkeypatch, 6.5)
    replayed = client.post(
        f"/api/v1/webhooks/deliveries/{first_id}/replay", headers=bearer(hooked["key"])
    )
    assert replayed.status_code == 202
    delivery.deliver_due()
    headers, body = receiver.requests[-1]
    assert headers["webhook-id"] == before[0]["webhook-id"]
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert matching(new, headers, body) == [0]
    assert matching(old, headers, body) == []


def test_a_second_rotation_during_the_overlap_drops_the_oldest_secret(
    app, hooked, receiver, client
):
    endpoint_id = endpoint_id_of(hooked["partner_id"])
    db.session.close()
    first = rotate(client, hooked["key"], endpoint_id)
    second = rotate(client, hooked["key"], endpoint_id)
    assert first.status_code == second.status_code == 200
    assert first.json["previous_secret_expires_at"] < second.json["previous_secret_expires_at"]
    send_one(hooked["product_id"], "Sau hai lần đổi khoá")
    ((headers, body),) = receiver.requests
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert matching(second.json["secret"], headers, body) == [0]
    assert matching(first.json["secret"], headers, body) == [1]
    assert matching(hooked["secret"], headers, body) == []  # the oldest no longer signs

    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "webhook_secret_rotated")
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.subject_id, e.actor_role) for e in entries] == [(endpoint_id, "partner_api")] * 2
    assert [e.details["older_secret_dropped"] for e in entries] == [False, True]
    assert entries[0].details["partner_id"] == hooked["partner_id"]


def test_an_overlap_of_zero_hours_stops_the_previous_secret_at_once(app, hooked, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_SECRET_OVERLAP_HOURS", 0)
    with unit_of_work():
        endpoint, secret = webhooks.rotate_secret(
            hooked["partner_id"], endpoint_id_of(hooked["partner_id"])
        )
        assert endpoint.previous_secret_encrypted is None
        assert delivery.signing_secrets(endpoint, utcnow()) == (secret,)


def test_the_overlap_ends_overlap_hours_after_the_rotation(app, hooked, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_SECRET_OVERLAP_HOURS", 48)
    now = utcnow()
    with unit_of_work():
        endpoint, secret = webhooks.rotate_secret(
            hooked["partner_id"], endpoint_id_of(hooked["partner_id"]), now=now
        )
        ends = now + timedelta(hours=48)
        assert endpoint.previous_secret_until == ends
        assert delivery.signing_secrets(endpoint, ends - timedelta(seconds=1)) == (
            secret,
            hooked["secret"],
        )
        assert delivery.signing_secrets(endpoint, ends) == (secret,)


def _other_partner_endpoint(receiver) -> tuple[int, str]:
    other, _key, _plain = services.create_partner("Postmart", "feeds:read,webhooks:manage")
    endpoint, _secret = webhooks.add_endpoint(other.id, receiver.url)
    db.session.commit()
    return endpoint.id, endpoint.secret_encrypted


def _audit_count() -> int:
    return len(
        db.session.scalars(
            select(AuditEntry.id).where(AuditEntry.action == "webhook_secret_rotated")
        ).all()
    )


def test_another_partners_endpoint_is_404_and_unchanged(app, hooked, receiver, client):
    theirs, stored = _other_partner_endpoint(receiver)
    db.session.close()
    for endpoint_id in (theirs, 2_000_000_000):
        refused = rotate(client, hooked["key"], endpoint_id)
        assert refused.status_code == 404
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert "secret" not in refused.json
    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, theirs)
    assert endpoint.secret_encrypted == stored and endpoint.previous_secret_encrypted is None
    assert _audit_count() == 0


def test_a_key_without_webhooks_manage_is_refused(app, hooked, client):
    endpoint_id = endpoint_id_of(hooked["partner_id"])
    stored = db.session.get(WebhookEndpoint, endpoint_id).secret_encrypted
    _partner, _key, feeds_only = services.create_partner("Chỉ đọc", "feeds:read")
    db.session.commit()
    db.session.close()
    refused = rotate(client, feeds_only, endpoint_id)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    anonymous = client.post(f"/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret")
    assert anonymous.status_code == 401
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint_id).secret_encrypted == stored


def test_bad_input_is_problem_json(app, hooked, client):
    endpoint_id = endpoint_id_of(hooked["partner_id"])
    db.session.close()
    path = f"/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret"
    with_query = client.post(path + "?overlap=1", headers=bearer(hooked["key"]))
    assert with_query.status_code == 422
    assert with_query.headers["Content-Type"].startswith("application/problem+json")
    not_a_number = client.post(
        "/api/v1/webhooks/endpoints/abc/rotate-secret", headers=bearer(hooked["key"])
    )
    assert not_a_number.status_code == 404
    assert not_a_number.headers["Content-Type"].startswith("application/problem+json")
    wrong_method = client.get(path, headers=bearer(hooked["key"]))
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Content-Type"].startswith("application/problem+json")
    assert _audit_count() == 0


def test_the_openapi_document_describes_the_rotation(client):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret"]["post"]
    assert {"200", "404", "403", "422"} <= set(operation["responses"])
    schema = document["components"]["schemas"]["WebhookSecretRotated"]
    assert {"secret", "previous_secret_expires_at"} <= set(schema["properties"])


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_admin_rotates_with_csrf_and_sees_the_secret_once(app, receiver, client, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_SECRET_OVERLAP_HOURS", 5)
    with app.app_context():  # no context held during the requests (Flask-Login caches in g)
        partner, _key, _plain = services.create_partner("Voso", "webhooks:manage")
        endpoint, old = webhooks.add_endpoint(partner.id, receiver.url)
        admin, someone = make_user(name="Quản trị", admin=True), make_user(name="Khách")
        db.session.commit()
        partner_id, endpoint_id, admin_id, someone_id = (
            partner.id,
            endpoint.id,
            admin.id,
            someone.id,
        )
    path = f"/admin/partners/{partner_id}/webhooks/{endpoint_id}/rotate-secret"

    assert client.post(path).status_code == 302  # anonymous: to sign in
    login(client, someone_id)
    assert client.post(path).status_code == 403  # not an admin
    login(client, admin_id)
    page = client.get(f"/admin/partners/{partner_id}/webhooks")
    assert page.status_code == 200 and path in page.text
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(path).status_code == 400  # no CSRF token
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id).previous_secret_encrypted is None

    shown = client.post(path, data={"csrf_token": _csrf(page.text)})
    assert shown.status_code == 200
    assert "no-store" in shown.headers["Cache-Control"]
    (new,) = re.findall(r'<code id="webhook-secret">(whsec_[^<]+)</code>', shown.text)
    with app.app_context():
        rotated = db.session.get(WebhookEndpoint, endpoint_id)
        ends = rotated.previous_secret_until
        assert delivery.signing_secrets(rotated, utcnow()) == (new, old)
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "webhook_secret_rotated")
        ).one()
        assert (entry.actor_id, entry.actor_role) == (admin_id, "admin")
        assert entry.subject_id == endpoint_id
    assert timedelta(hours=4, minutes=59) < ends - utcnow() <= timedelta(hours=5)
    local = ends.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")  # shown in Vietnam time
    assert local in shown.text

    again = client.get(f"/admin/partners/{partner_id}/webhooks")
    assert "whsec_" not in again.text and local in again.text
    client.set_cookie("lang", "en")
    english = client.get(f"/admin/partners/{partner_id}/webhooks")
    assert "Rotate secret" in english.text
    assert f"The previous secret also signs until {local}" in english.text


def test_the_service_refuses_another_partners_endpoint(app, hooked, receiver):
    theirs, stored = _other_partner_endpoint(receiver)
    with pytest.raises(NotFound), unit_of_work():
        webhooks.rotate_secret(hooked["partner_id"], theirs)
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, theirs).secret_encrypted == stored
