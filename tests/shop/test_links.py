"""The shop's links on lower packages' pages (core.navigation) and the product page's live
schema.org availability (a template hook): no lower template names a shop endpoint."""

from __future__ import annotations

import json
import re

from flask import url_for

from core.db import db
from tests.conftest import login
from tests.factories import make_council_member, make_user
from tests.shop.helpers import stocked_product


def _json_ld(html: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


def test_the_lot_page_links_to_the_lots_orders(app, client):
    with app.app_context():
        manager = make_user(name="Quản lý")
        producer, _product, _variant, batch = stocked_product(manager=manager)
        db.session.commit()
        ids = (manager.id, producer.id, batch.id)
    login(client, ids[0])
    html = client.get(f"/manage/{ids[1]}/batches/{ids[2]}").get_data(as_text=True)
    with app.test_request_context():
        orders = url_for("fulfilment.lot_orders", producer_id=ids[1], batch_id=ids[2])
    assert f'href="{orders}"' in html
    assert client.get(orders).status_code == 200


def test_council_members_get_a_link_to_recall_notices(app, client):
    with app.app_context():
        council, buyer = make_council_member("province", 25), make_user(name="Người mua")
        db.session.commit()
        ids = (council.id, buyer.id)
    login(client, ids[0])
    assert 'href="/council/recall-notices"' in client.get("/").get_data(as_text=True)
    assert client.get("/council/recall-notices").status_code == 200
    login(client, ids[1])
    assert "/council/recall-notices" not in client.get("/").get_data(as_text=True)


def test_product_json_ld_availability_comes_from_live_stock(app, client):
    with app.app_context():
        _p, stocked, _v, _b = stocked_product(units=3)
        _p, empty, _v, _b = stocked_product(units=0)
        db.session.commit()
        slugs = (stocked.slug, empty.slug)
    [offer] = _json_ld(client.get(f"/p/{slugs[0]}").get_data(as_text=True))["offers"]
    assert offer["availability"] == "https://schema.org/InStock"
    [offer] = _json_ld(client.get(f"/p/{slugs[1]}").get_data(as_text=True))["offers"]
    assert offer["availability"] == "https://schema.org/OutOfStock"
