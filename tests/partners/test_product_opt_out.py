"""Per-product opt-out: a producer opted in to a partner keeps single products out of that
partner's feeds; the exclusion takes effect at once (feeds, tombstones, webhooks, orders) and
only for that partner. Also the tombstone of every other removal reason."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET  # noqa: N817
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import User
from cooperatives.access import Acting
from cooperatives.models import MemberRole
from cooperatives.products import set_status
from core.db import db, utcnow
from core.errors import Invalid, NotFound
from core.i18n import local_today
from partners import services
from partners.models import FeedChange, PartnerProductExclusion
from tests.conftest import login
from tests.factories import make_certificate, make_producer, make_product, make_user
from tests.partners.conftest import bearer, order_body
from tests.shop.helpers import stocked_product

FEED = "/api/v1/feeds/products"
G = "{http://base.google.com/ns/1.0}"


@pytest.fixture
def shelf(app, ctx):
    """A producer opted in to two partners with two published products."""
    manager = make_user(name="Bà Lan")
    producer, kept, _variant, _batch = stocked_product(units=4, name="Cam Cao Phong")
    producer.memberships[0].user_id  # noqa: B018  (stocked_product made a manager)
    other = make_product(producer, name="Mật ong bạc hà")
    postmart, _k, postmart_key = services.create_partner("Postmart", "feeds:read,orders:write")
    voso, _k, voso_key = services.create_partner("Voso", "feeds:read")
    services.set_opt_ins(producer.id, {postmart.id, voso.id})
    db.session.commit()
    return {
        "manager_id": producer.memberships[0].user_id,
        "spare_user": manager.id,
        "producer_id": producer.id,
        "kept": kept.id,
        "other": other.id,
        "variant_id": kept.variants[0].id,
        "postmart": postmart.id,
        "postmart_key": postmart_key,
        "voso": voso.id,
        "voso_key": voso_key,
    }


def _ids(client, key, **query) -> dict[int, dict]:
    body = client.get(FEED, query_string=query, headers=bearer(key)).get_json()
    return {item["id"]: item for item in body["items"]}


def test_an_excluded_product_leaves_that_partners_feeds_at_once(client, shelf):
    since = (utcnow() - timedelta(seconds=1)).isoformat()
    services.set_listed_products(shelf["producer_id"], shelf["postmart"], {shelf["kept"]})
    db.session.commit()

    assert set(_ids(client, shelf["postmart_key"])) == {shelf["kept"]}
    assert set(_ids(client, shelf["voso_key"])) == {shelf["kept"], shelf["other"]}
    changes = _ids(client, shelf["postmart_key"], updated_since=since)
    assert changes[shelf["other"]] == {"id": shelf["other"], "removed": True}
    assert shelf["other"] not in {
        i
        for i, item in _ids(client, shelf["voso_key"], updated_since=since).items()
        if item["removed"]
    }

    xml = client.get("/api/v1/feeds/products.xml", headers=bearer(shelf["postmart_key"]))
    groups = {item.find(f"{G}item_group_id").text for item in ET.fromstring(xml.data).iter("item")}
    assert groups == {f"cq-p{shelf['kept']}"}
    text = client.get("/api/v1/feeds/products.csv", headers=bearer(shelf["postmart_key"])).get_data(
        as_text=True
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["item_group_id"] for r in rows} == {f"cq-p{shelf['kept']}"}


def test_letting_a_product_back_in_lists_it_again_as_a_change(client, shelf):
    services.set_listed_products(shelf["producer_id"], shelf["postmart"], set())
    db.session.commit()
    assert _ids(client, shelf["postmart_key"]) == {}
    since = utcnow().isoformat()

    excluded, included = services.set_listed_products(
        shelf["producer_id"], shelf["postmart"], {shelf["other"]}
    )
    db.session.commit()

    assert (excluded, included) == (set(), {shelf["other"]})
    changes = _ids(client, shelf["postmart_key"], updated_since=since)
    assert set(changes) == {shelf["other"]} and changes[shelf["other"]]["removed"] is False
    reasons = set(db.session.scalars(select(FeedChange.reason)))
    assert {"excluded", "included"} <= reasons


def test_an_excluded_product_cannot_be_ordered_by_that_partner(client, shelf):
    services.set_listed_products(shelf["producer_id"], shelf["postmart"], {shelf["other"]})
    db.session.commit()
    body = order_body(shelf["variant_id"])
    db.session.close()
    headers = {**bearer(shelf["postmart_key"]), "Idempotency-Key": "excluded-order-1"}
    response = client.post("/api/v1/orders", json=body, headers=headers)
    assert response.status_code == 422  # the same answer as for a product never listed
    assert response.mimetype == "application/problem+json"
    assert "lines" in response.get_json()["errors"]
    from shop.orders.models import Order

    assert db.session.scalar(select(func.count(Order.id))) == 0


def test_only_partners_opted_in_to_and_own_products_can_be_chosen(shelf):
    outsider = make_product(make_producer(), name="Của người khác")
    db.session.commit()
    with pytest.raises(Invalid):
        services.set_listed_products(shelf["producer_id"], shelf["postmart"], {outsider.id})
    services.set_opt_ins(shelf["producer_id"], {shelf["voso"]})
    with pytest.raises(NotFound):
        services.set_listed_products(shelf["producer_id"], shelf["postmart"], set())
    with pytest.raises(NotFound):
        services.set_listed_products(shelf["producer_id"], "1", set())
    db.session.rollback()


def test_the_manager_chooses_products_per_partner_on_the_page(app, client, shelf):
    login(client, shelf["manager_id"])
    page = client.get(f"/manage/{shelf['producer_id']}/partners")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Mật ong bạc hà" in html and f"/partners/{shelf['postmart']}/products" in html

    target = f"/manage/{shelf['producer_id']}/partners/{shelf['postmart']}/products"
    saved = client.post(target, data={"product_id": str(shelf["kept"])})
    assert saved.status_code == 303
    db.session.expire_all()
    assert services.excluded_product_ids(shelf["producer_id"]) == {
        shelf["postmart"]: {shelf["other"]}
    }

    bad = client.post(target, data={"product_id": "999999"})
    assert bad.status_code == 422
    db.session.expire_all()
    assert services.excluded_product_ids(shelf["producer_id"]) == {
        shelf["postmart"]: {shelf["other"]}
    }

    from flask import g

    g.pop("_login_user", None)  # the held app context would keep the manager signed in
    outsider = app.test_client()
    login(outsider, shelf["spare_user"])  # not a member of this producer
    assert outsider.post(target, data={}).status_code == 404
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(PartnerProductExclusion.id).where(
                PartnerProductExclusion.product_id == shelf["kept"]
            )
        )
        is None
    )


@pytest.mark.parametrize("reason", ["draft", "archived", "withdrawn", "excluded"])
def test_every_removal_reason_is_a_tombstone_with_updated_since(client, shelf, reason):
    since = (utcnow() - timedelta(seconds=1)).isoformat()
    manager = db.session.get(User, shelf["manager_id"])
    from cooperatives.models import Producer, Product

    producer = db.session.get(Producer, shelf["producer_id"])
    product = db.session.get(Product, shelf["other"])
    acting = Acting(user=manager, producer=producer, role=MemberRole.MANAGER)
    if reason in ("draft", "archived"):
        set_status(acting, product, reason)
    elif reason == "withdrawn":
        services.set_opt_ins(producer.id, {shelf["voso"]})
    else:
        services.set_listed_products(producer.id, shelf["postmart"], {shelf["kept"]})
    db.session.commit()

    changes = _ids(client, shelf["postmart_key"], updated_since=since)
    assert changes[shelf["other"]] == {"id": shelf["other"], "removed": True}
    assert shelf["other"] not in _ids(client, shelf["postmart_key"])


def test_a_lapsed_certificate_shows_as_a_change_without_stars_before_the_daily_job(client, shelf):
    from cooperatives.models import Product

    product = db.session.get(Product, shelf["kept"])
    certificate = make_certificate(product, total="80")
    db.session.commit()
    assert _ids(client, shelf["postmart_key"])[shelf["kept"]]["ocop"]["stars"] == 4
    since = utcnow().isoformat()
    # the validity ended yesterday; `flask ocop expire` has not run (no change-log row)
    certificate.valid_until = local_today() - timedelta(days=1)
    db.session.commit()
    db.session.execute(FeedChange.__table__.delete())
    db.session.commit()

    changes = _ids(client, shelf["postmart_key"], updated_since=since)
    assert changes[shelf["kept"]]["removed"] is False
    assert changes[shelf["kept"]]["ocop"] is None


@pytest.mark.postgres_only
def test_two_saves_of_the_same_exclusion_at_once_both_succeed(app, shelf):
    """Two tabs saving the same list at the same moment: neither fails, one exclusion row."""
    import threading

    from core.db import unit_of_work

    db.session.remove()  # the threads below run their own sessions
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def save():
        try:
            with app.app_context():
                barrier.wait()
                with unit_of_work():
                    services.set_listed_products(
                        shelf["producer_id"], shelf["postmart"], {shelf["kept"]}
                    )
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    rows = db.session.scalars(
        select(PartnerProductExclusion.product_id).where(
            PartnerProductExclusion.partner_id == shelf["postmart"]
        )
    ).all()
    assert rows == [shelf["other"]]
