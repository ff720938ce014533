"""Outgoing webhooks, checked from the partner's side: a real HTTP receiver on a free port gets
the POSTs, and signatures are verified with `standardwebhooks` (the spec's reference library),
not with our own code."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.db import db, unit_of_work, utcnow
from partners import services
from partners.webhooks import delivery
from partners.webhooks import services as webhooks
from partners.webhooks.models import WebhookDelivery
from tests.conftest import login
from tests.factories import make_user
from tests.partners.conftest import bearer, order_body


def rows(**where) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    for name, value in where.items():
        query = query.where(getattr(WebhookDelivery, name) == value)
    db.session.expire_all()
    return list(db.session.scalars(query))


def make_due() -> None:
    """As if the coalescing minute (or the backoff) had passed."""
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
    db.session.commit()


def rename(product_id: int, name: str) -> None:
    from cooperatives.models import Product

    with unit_of_work():
        db.session.get(Product, product_id).name_vi = name


def test_a_change_reaches_the_partner_signed_the_standard_webhooks_way(hooked, receiver):
    rename(hooked["product_id"], "Cam Cao Phong loại 1")
    make_due()
    delivery.deliver_due()

    updates = [(h, b) for h, b in receiver.requests if json.loads(b)["type"] == "product.updated"]
    assert len(updates) == 1
    headers, body = updates[0]
    payload = Webhook(hooked["secret"]).verify(body, headers)  # raises when the signature is off
    assert payload["data"]["id"] == hooked["product_id"]
    assert payload["data"]["title"] == "Cam Cao Phong loại 1"
    assert headers["webhook-id"].startswith("msg_")
    tampered = body.replace(b"loai", b"LOAI").replace("loại".encode(), "LOẠI".encode())
    with pytest.raises(WebhookVerificationError):
        Webhook(hooked["secret"]).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(body, headers)  # another partner's secret
    sent = rows(event="product.updated")
    assert [r.status for r in sent] == ["delivered"] and sent[0].delivered_at is not None


def test_a_burst_of_changes_is_one_delivery_built_when_sent(hooked, receiver):
    for n in range(5):
        rename(hooked["product_id"], f"Tên số {n}")
    assert len(rows(event="product.updated")) == 1
    assert rows(event="product.updated")[0].next_attempt_at > utcnow() + timedelta(seconds=50)
    delivery.deliver_due()
    assert receiver.requests == []  # not due before its minute is over
    make_due()
    delivery.deliver_due()
    titles = [e["data"]["title"] for e in receiver.events() if e["type"] == "product.updated"]
    assert titles == ["Tên số 4"]
    rename(hooked["product_id"], "Tên sau khi gửi")  # after the send: a new delivery
    assert [r.status for r in rows(event="product.updated")] == ["delivered", "pending"]


def test_a_rolled_back_change_sends_nothing(hooked, receiver):
    from cooperatives.models import Product

    with pytest.raises(RuntimeError), unit_of_work():
        db.session.get(Product, hooked["product_id"]).name_vi = "Không bao giờ lưu"
        db.session.flush()
        raise RuntimeError("the request failed")
    assert rows() == []
    make_due()
    delivery.deliver_due()
    assert receiver.requests == []


def test_a_failing_receiver_is_retried_with_backoff_then_given_up_and_replayed(
    app, hooked, receiver, client
):
    receiver.status = 503
    rename(hooked["product_id"], "Đổi tên")
    make_due()
    delivery.deliver_due()
    (row,) = rows(event="product.updated")
    assert (row.status, row.attempts, row.last_status) == ("pending", 1, 503)
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    base = app.config["WEBHOOK_RETRY_BASE_SECONDS"]
    assert 0.7 * base <= wait <= 1.25 * base  # the first backoff, with jitter
    for _ in range(2):
        make_due()
        delivery.deliver_due()
    (row,) = rows(event="product.updated")
    assert (row.status, row.attempts) == ("failed", 3)
    assert len(receiver.requests) == 3
    assert len({h["webhook-id"] for h, _b in receiver.requests}) == 1  # one message, retried
    row_id = row.id
    db.session.close()

    receiver.status = 200
    answer = client.post(
        f"/api/v1/webhooks/deliveries/{row_id}/replay", headers=bearer(hooked["key"])
    )
    assert answer.status_code == 202 and answer.json["status"] == "pending"
    delivery.deliver_due()
    (row,) = rows(event="product.updated")
    assert (row.status, row.attempts) == ("delivered", 1)


def test_a_killed_workers_claim_is_sent_after_its_lease_expires(hooked, receiver):
    rename(hooked["product_id"], "Đổi tên")
    make_due()
    _token, claimed = delivery.claim()  # this worker dies holding the claim
    assert [r.event for r in claimed] == ["product.updated"]
    assert delivery.deliver_batch() == 0  # another worker leaves it alone while leased
    assert receiver.requests == []
    db.session.execute(update(WebhookDelivery).values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    delivery.deliver_due()
    (row,) = rows(event="product.updated")
    assert (row.status, row.attempts) == ("delivered", 2)
    assert len(receiver.requests) == 1


def test_concurrent_claims_never_share_a_delivery(app, hooked):
    with unit_of_work():
        for n in range(40):
            db.session.add(
                WebhookDelivery(
                    msg_id=f"msg_test{n}",
                    endpoint_id=1,
                    partner_id=hooked["partner_id"],
                    event="lot.recalled",
                    payload={"n": n},
                )
            )
        db.session.flush()
        endpoint_id = db.session.scalar(select(func.min(WebhookDelivery.endpoint_id)))
        assert endpoint_id is not None
    claimed: list[list[int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                for _ in range(10):
                    _token, got = delivery.claim(limit=3)
                    claimed.append([r.id for r in got])
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = [i for batch in claimed for i in batch]
    assert len(ids) == len(set(ids)) == 40


def test_a_partner_reads_and_replays_only_its_own_deliveries(app, hooked, receiver, client):
    other, _key, other_plain = services.create_partner("Postmart", "feeds:read,webhooks:manage")
    services.set_opt_ins(hooked["producer_id"], {hooked["partner_id"], other.id})
    webhooks.add_endpoint(other.id, receiver.url)
    db.session.commit()
    rename(hooked["product_id"], "Hai đối tác")
    mine = {r.id for r in rows(partner_id=hooked["partner_id"])}
    theirs = {r.id for r in rows(partner_id=other.id)}
    assert mine and theirs
    db.session.close()

    page = client.get("/api/v1/webhooks/deliveries", headers=bearer(hooked["key"]))
    assert page.status_code == 200
    assert {item["id"] for item in page.json["items"]} == mine
    refused = client.post(
        f"/api/v1/webhooks/deliveries/{min(theirs)}/replay", headers=bearer(hooked["key"])
    )
    assert refused.status_code == 404
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    no_scope = client.get("/api/v1/webhooks/deliveries", headers=bearer(_feeds_only_key(app)))
    assert no_scope.status_code == 403
    bad = client.get("/api/v1/webhooks/deliveries?status=lost", headers=bearer(hooked["key"]))
    assert bad.status_code == 422


def _feeds_only_key(app) -> str:
    with app.app_context():
        _partner, _key, plain = services.create_partner("Chỉ đọc", "feeds:read")
        db.session.commit()
        return plain


def test_withdrawal_and_order_moves_reach_the_partner(app, hooked, receiver, client, settings):
    settings["WEBHOOK_COALESCE_SECONDS"] = 0
    db.session.close()
    with app.app_context():
        body = order_body(hooked["variant_id"], 2)
    headers = {**bearer(hooked["key"]), "Idempotency-Key": "order-hook-1"}
    placed = client.post("/api/v1/orders", json=body, headers=headers)
    assert placed.status_code == 201
    with app.app_context():
        services.set_opt_ins(hooked["producer_id"], set())
        db.session.commit()
        delivery.deliver_due()
    by_type: dict[str, list[dict]] = {}
    for headers_, body_ in receiver.requests:
        event = Webhook(hooked["secret"]).verify(body_, headers_)
        by_type.setdefault(event["type"], []).append(event["data"])
    moves = by_type["order.status_changed"]
    assert {m["ref"] for m in moves} == {placed.json["ref"]}
    assert moves[-1]["new"] in ("placed", "confirmed")
    assert by_type["product.removed"] == [{"id": hooked["product_id"], "removed": True}]
    stock = by_type["stock.changed"][-1]
    # after the withdrawal the product is no longer this partner's: a removal, not stock figures
    assert stock == {"product_id": hooked["product_id"], "removed": True}


def test_the_admin_sees_every_delivery_and_replays_with_csrf(app, hooked, receiver, client):
    rename(hooked["product_id"], "Đổi tên")
    make_due()
    delivery.deliver_due()
    (row,) = rows(event="product.updated")
    row_id = row.id
    admin = make_user(name="Quản trị", admin=True)
    db.session.commit()
    admin_id = admin.id
    db.session.close()
    login(client, admin_id)
    page = client.get("/admin/webhooks/deliveries")
    assert page.status_code == 200 and "product.updated" in page.get_data(as_text=True)
    assert client.post(f"/admin/webhooks/deliveries/{row_id}/replay").status_code == 303
    with app.app_context():
        assert db.session.get(WebhookDelivery, row_id).status == "pending"
    shown = client.post(
        f"/admin/partners/{hooked['partner_id']}/webhooks", data={"url": receiver.url}
    )
    assert shown.status_code == 201 and "whsec_" in shown.get_data(as_text=True)
    assert "whsec_" not in client.get(f"/admin/partners/{hooked['partner_id']}/webhooks").text
    refused = client.post(
        f"/admin/partners/{hooked['partner_id']}/webhooks", data={"url": "ftp://x"}
    )
    assert refused.status_code == 422


def test_excluding_a_product_sends_its_removal_and_letting_it_back_an_update(hooked, receiver):
    services.set_listed_products(hooked["producer_id"], hooked["partner_id"], set())
    db.session.commit()
    make_due()
    delivery.deliver_due()
    events = [Webhook(hooked["secret"]).verify(b, h) for h, b in receiver.requests]
    assert [(e["type"], e["data"]) for e in events] == [
        ("product.removed", {"id": hooked["product_id"], "removed": True})
    ]

    rename(hooked["product_id"], "Cam đã ẩn")  # an excluded product's changes are not sent
    services.set_listed_products(hooked["producer_id"], hooked["partner_id"], set())
    db.session.commit()
    assert rows(event="product.updated") == []

    services.set_listed_products(
        hooked["producer_id"], hooked["partner_id"], {hooked["product_id"]}
    )
    db.session.commit()
    make_due()
    delivery.deliver_due()
    last = Webhook(hooked["secret"]).verify(receiver.requests[-1][1], receiver.requests[-1][0])
    assert last["type"] == "product.updated" and last["data"]["title"] == "Cam đã ẩn"
