"""The feeds a partner pulls: JSON with cursor and tombstones, Google Merchant RSS checked with a
real XML parser, Meta CSV; ETag/304, Last-Modified, gzip; bad input answers problem+json."""

from __future__ import annotations

import csv
import gzip
import io
import xml.etree.ElementTree as ET  # noqa: N817
from datetime import date, timedelta

import pytest

from accounts.models import User
from cooperatives.access import Acting
from cooperatives.models import MemberRole
from cooperatives.products import set_status
from core.db import db, utcnow
from partners import services
from tests.factories import make_certificate, make_producer, make_product
from tests.partners.conftest import bearer
from tests.shop.helpers import stocked_product

FEED = "/api/v1/feeds/products"
G = "{http://base.google.com/ns/1.0}"
GOOGLE_AVAILABILITY = {"in_stock", "out_of_stock", "preorder", "backorder"}


@pytest.fixture
def catalogue(app, partner, ctx):
    """Two opted-in products (one stocked, GTIN, OCOP; one without), one producer not opted in."""
    partner_id, _plain = partner
    producer, stocked, _variant, batch = stocked_product(units=7, name="Bưởi Đoan Hùng")
    stocked.gtin = "08930000000012"
    make_certificate(stocked, total="80")
    plain_product = make_product(producer, name='Chè & "Shan" <tuyết>', variants=2)
    outsider = make_producer()
    make_product(outsider, name="Không đăng ký")
    services.set_opt_ins(producer.id, {partner_id})
    db.session.commit()
    return {
        "producer": producer,
        "stocked": stocked,
        "plain": plain_product,
        "batch": batch,
    }


def _get(client, plain, path=FEED, **headers):
    return client.get(path, headers={**bearer(plain), **headers})


def test_json_feed_lists_what_a_partner_may_sell(client, partner, catalogue):
    response = _get(client, partner[1])

    assert response.status_code == 200
    body = response.get_json()
    by_id = {item["id"]: item for item in body["items"]}
    assert set(by_id) == {catalogue["stocked"].id, catalogue["plain"].id}
    assert body["next_cursor"] is None
    item = by_id[catalogue["stocked"].id]
    assert item["title"] == "Bưởi Đoan Hùng"
    assert item["variants"][0]["price_vnd"] == 150000
    assert item["variants"][0]["available_units"] == 7
    assert item["availability"] == "in_stock"
    assert item["url"].startswith("https://choque.test/p/")
    assert item["producer"]["name"] == catalogue["producer"].name
    assert item["province"]["code"] == 25 and item["commune"]["code"] == 5089
    assert item["ocop"]["stars"] == 4
    assert item["ocop"]["certificate_number"].endswith("/QĐ-UBND")
    assert item["gtin"] == "08930000000012"
    assert item["lot_code"] == catalogue["batch"].lot_code
    assert item["trace_url"] == (
        f"https://choque.test/01/08930000000012/10/{catalogue['batch'].lot_code}"
    )
    other = by_id[catalogue["plain"].id]
    assert other["gtin"] is None and other["ocop"] is None and other["trace_url"] is None
    assert other["availability"] == "out_of_stock"


def test_ocop_stars_disappear_when_the_certificate_lapses(client, partner, catalogue):
    for certificate in catalogue["stocked"].certificates:
        certificate.valid_until = date.today() - timedelta(days=1)
    db.session.commit()

    items = _get(client, partner[1]).get_json()["items"]

    assert all(item["ocop"] is None for item in items)


def test_cursor_pagination_walks_the_whole_feed_once(client, partner, catalogue):
    seen = []
    cursor = None
    for _ in range(5):
        query = "?limit=1" + (f"&cursor={cursor}" if cursor else "")
        body = _get(client, partner[1], FEED + query).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted({catalogue["stocked"].id, catalogue["plain"].id})


@pytest.mark.parametrize(
    "query",
    [
        "?cursor=%%%",
        "?cursor=p0",
        "?cursor=p99999999999",
        "?cursor=" + "A" * 41,
        "?limit=0",
        "?limit=abc",
        "?limit=١٢",
        "?updated_since=yesterday",
        "?updated_since=2026-02-30T00:00:00Z",
        "?unknown=1",
    ],
)
def test_bad_query_is_a_problem_json_and_not_a_500(client, partner, catalogue, query):
    response = _get(client, partner[1], FEED + query)

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 422


def test_updated_since_returns_removals_as_tombstones(client, partner, catalogue):
    since = (utcnow() - timedelta(seconds=1)).isoformat()
    manager = db.session.get(User, catalogue["producer"].memberships[0].user_id)
    acting = Acting(user=manager, producer=catalogue["producer"], role=MemberRole.MANAGER)
    set_status(acting, catalogue["plain"], "archived")
    db.session.commit()

    body = client.get(
        FEED, query_string={"updated_since": since}, headers=bearer(partner[1])
    ).get_json()

    by_id = {item["id"]: item for item in body["items"]}
    assert by_id[catalogue["plain"].id] == {"id": catalogue["plain"].id, "removed": True}
    assert catalogue["stocked"].id in by_id  # newly opted in: listed


def test_withdrawal_removes_products_at_once(client, partner, catalogue):
    since = utcnow().isoformat()
    services.set_opt_ins(catalogue["producer"].id, set())
    db.session.commit()

    assert _get(client, partner[1]).get_json()["items"] == []
    body = client.get(
        FEED, query_string={"updated_since": since}, headers=bearer(partner[1])
    ).get_json()
    assert {(i["id"], i["removed"]) for i in body["items"]} == {
        (catalogue["stocked"].id, True),
        (catalogue["plain"].id, True),
    }


def test_another_partner_sees_nothing_without_opt_in(client, catalogue):
    _p, _k, plain = services.create_partner("Voso", "feeds:read")
    db.session.commit()
    assert _get(client, plain).get_json()["items"] == []


def test_etag_gives_304_until_stock_or_catalogue_changes(client, partner, catalogue):
    first = _get(client, partner[1])
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"]

    again = _get(client, partner[1], **{"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""

    catalogue["stocked"].variants[0].price_vnd = 160000
    db.session.commit()
    changed = _get(client, partner[1], **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_gzip_on_request(client, partner, catalogue):
    response = _get(client, partner[1], **{"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    import json

    body = json.loads(gzip.decompress(response.data))
    assert len(body["items"]) == 2


def test_google_feed_has_every_required_field_on_every_item(client, partner, catalogue):
    response = _get(client, partner[1], "/api/v1/feeds/products.xml")

    assert response.status_code == 200
    root = ET.fromstring(response.data)  # noqa: S314  (our own feed)
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("./channel/item")
    assert len(items) == 3  # one per variant: 1 + 2
    for item in items:

        def text(name, item=item):
            node = item.find(G + name)
            assert node is not None and node.text, f"{name} missing"
            return node.text

        assert len(text("id")) <= 50
        assert len(text("title")) <= 150
        assert len(text("description")) <= 5000
        assert text("link").startswith("https://choque.test/p/")
        assert text("image_link").startswith("https://choque.test/")
        assert text("availability") in GOOGLE_AVAILABILITY
        price, currency = text("price").split(" ")
        assert price.isascii() and price.isdigit() and currency == "VND"
        assert text("brand") == catalogue["producer"].name
        assert text("condition") == "new"
        if item.find(G + "gtin") is not None:
            assert text("gtin") == "08930000000012"
        else:
            assert text("identifier_exists") == "no"
    titles = [item.find(G + "title").text for item in items]
    assert any('Chè & "Shan" <tuyết>' in t for t in titles)


def test_meta_csv_has_the_catalogue_columns(client, partner, catalogue):
    response = _get(client, partner[1], "/api/v1/feeds/products.csv")

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 3
    for row in rows:
        for column in (
            "id",
            "title",
            "description",
            "availability",
            "condition",
            "price",
            "link",
            "image_link",
            "brand",
        ):
            assert row[column], column
        assert row["availability"] in {"in stock", "out of stock"}
        assert row["price"].endswith(" VND")
    assert {row["gtin"] for row in rows} == {"08930000000012", ""}


def test_feeds_reject_unknown_parameters(client, partner, catalogue):
    for path in ("/api/v1/feeds/products.xml?x=1", "/api/v1/feeds/products.csv?x=1"):
        response = _get(client, partner[1], path)
        assert response.status_code == 422
        assert response.mimetype == "application/problem+json"


def test_a_key_of_no_partner_is_refused(client, catalogue):
    from accounts.api_keys import create_api_key

    _key, plain = create_api_key("Không phải đối tác", "feeds:read")
    db.session.commit()
    response = _get(client, plain)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_openapi_describes_the_feeds(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/feeds/products",
        "/api/v1/feeds/products.xml",
        "/api/v1/feeds/products.csv",
    ):
        assert path in document["paths"]
    assert "FeedProduct" in document["components"]["schemas"]


def test_demo_key_is_printed_and_works(app, client, ctx):
    from partners.demo import DEMO_KEY, demo_logins, seed_demo

    seed_demo()
    db.session.commit()
    assert any(DEMO_KEY in line for line in demo_logins())
    # the curl line points at this server (PORT=8101 make run prints its own port)
    assert any(f"'{app.config['PUBLIC_BASE_URL']}/api/v1/" in line for line in demo_logins())
    assert _get(client, DEMO_KEY).status_code == 200


def test_etag_moves_with_a_stock_receipt_and_a_recall(client, partner, catalogue):
    from shop.inventory.receiving import receive_stock
    from traceability.lots.recalls import recall_batch

    etag = _get(client, partner[1]).headers["ETag"]
    receive_stock(
        catalogue["producer"].id,
        variant_id=catalogue["stocked"].variants[0].id,
        batch_id=catalogue["batch"].id,
        units=3,
    )
    db.session.commit()
    after_receipt = _get(client, partner[1], **{"If-None-Match": etag})
    assert after_receipt.status_code == 200
    assert (
        _get(client, partner[1], **{"If-None-Match": after_receipt.headers["ETag"]}).status_code
        == 304
    )

    recall_batch(
        catalogue["batch"].id,
        reason="Phát hiện dư lượng vượt ngưỡng",
        actor_id=None,
        actor_role="admin",
    )
    db.session.commit()
    after_recall = _get(client, partner[1], **{"If-None-Match": after_receipt.headers["ETag"]})
    assert after_recall.status_code == 200
    stocked = next(
        i for i in after_recall.get_json()["items"] if i["id"] == catalogue["stocked"].id
    )
    assert stocked["availability"] == "out_of_stock" and stocked["lot_code"] is None
