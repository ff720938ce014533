"""Public catalog pages: the truth about OCOP stars, previews for Zalo/Facebook, structured data,
drafts hidden, and a fixed number of queries however many products a page lists."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from cooperatives.models import Producer, ProductImage
from core.db import db
from core.i18n import local_today
from tests.conftest import login
from tests.cooperatives.catalog_helpers import count_queries
from tests.factories import add_member, make_certificate, make_producer, make_product, make_user


def _product(app, **kwargs) -> dict:
    with app.app_context():
        producer = make_producer(
            name="HTX Cam Cao Phong", story="Cam trồng trên đồi đá vôi.", street="Xóm Cải"
        )
        product = make_product(producer, name="Cam Cao Phong loại 1", price=250000, **kwargs)
        db.session.commit()
        return {
            "producer": producer.id,
            "product": product.id,
            "slug": product.slug,
            "producer_slug": producer.slug,
        }


def _certify(app, product_id, **kwargs) -> None:
    from cooperatives.models import Product

    with app.app_context():
        make_certificate(db.session.get(Product, product_id), **kwargs)
        db.session.commit()


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def _json_ld(html: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match, "no JSON-LD on the page"
    return json.loads(match.group(1))


def test_stars_show_while_the_certificate_is_valid(app, client):
    ids = _product(app)
    signed = local_today() - timedelta(days=30)
    _certify(app, ids["product"], decision_date=signed)
    html = client.get(f"/p/{ids['slug']}").get_data(as_text=True)
    assert "★★★★" in html and "★★★★★" not in html
    until = signed.replace(year=signed.year + 3)
    assert f"hiệu lực đến {until:%m/%Y}" in html


@pytest.mark.parametrize(
    "certificate",
    [
        {"decision_date": date(2020, 1, 10)},  # 36 months passed: lapsed though not yet marked
        {"decision_date": date(2020, 1, 10), "status": "expired"},
        {"status": "revoked"},
        {"decision_date": local_today() + timedelta(days=20)},  # not signed yet
    ],
    ids=["lapsed", "expired", "revoked", "future-dated"],
)
def test_no_stars_without_a_certificate_valid_today(app, client, certificate):
    ids = _product(app)
    _certify(app, ids["product"], **certificate)
    for path in (f"/p/{ids['slug']}", "/", f"/c/{ids['producer_slug']}"):
        html = client.get(path).get_data(as_text=True)
        assert "★" not in html, path
        assert "OCOP" not in _main(html), path
    assert "award" not in _json_ld(client.get(f"/p/{ids['slug']}").get_data(as_text=True))


def test_product_page_has_open_graph_tags_and_parseable_json_ld(app, client):
    ids = _product(app, gtin="08931234567897")
    with app.app_context():
        db.session.add(
            ProductImage(
                product_id=ids["product"],
                key="abc123",
                width=1200,
                height=900,
                alt="Cam",
                position=0,
            )
        )
        db.session.commit()
    html = client.get(f"/p/{ids['slug']}").get_data(as_text=True)
    base = "https://choque.test"
    assert f'<meta property="og:url" content="{base}/p/{ids["slug"]}">' in html
    assert '<meta property="og:title" content="Cam Cao Phong loại 1">' in html
    assert f'<meta property="og:image" content="{base}/media/abc123/full.webp">' in html
    assert 'property="og:description"' in html
    data = _json_ld(html)
    assert data["@type"] == "Product"
    assert data["name"] == "Cam Cao Phong loại 1"
    assert data["brand"]["name"] == "HTX Cam Cao Phong"
    assert data["gtin"] == "08931234567897"
    assert data["image"] == [f"{base}/media/abc123/full.webp"]
    [offer] = data["offers"]
    assert (offer["price"], offer["priceCurrency"]) == ("250000", "VND")
    # no stock received: the shop fills availability from live stock (tests/shop/test_links.py)
    assert offer["availability"] == "https://schema.org/OutOfStock"
    assert 'width="1200" height="900"' in html
    assert "250.000" in html


def test_json_ld_has_no_gtin_unless_the_product_has_one(app, client):
    ids = _product(app)
    data = _json_ld(client.get(f"/p/{ids['slug']}").get_data(as_text=True))
    assert "gtin" not in json.dumps(data)


def test_json_ld_cannot_be_broken_out_of_by_a_product_name(app, client):
    with app.app_context():
        producer = make_producer()
        product = make_product(producer, name="Cam </script><script>alert(1)</script>")
        db.session.commit()
        slug = product.slug
    html = client.get(f"/p/{slug}").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert _json_ld(html)["name"].startswith("Cam </script>")


def test_drafts_are_404_for_the_public_and_archived_products_say_they_are_no_longer_sold(
    app, client
):
    with app.app_context():
        member, outsider = make_user(), make_user()
        producer = make_producer(manager=member)
        other = make_producer(manager=outsider)
        draft = make_product(producer, name="Cam chưa bán", status="draft")
        archived = make_product(producer, name="Cam cũ", status="archived")
        add_member(make_user(), other)
        db.session.commit()
        slugs = [draft.slug, archived.slug]
        member_id, outsider_id = member.id, outsider.id
    assert client.get(f"/p/{slugs[0]}").status_code == 404
    old = client.get(f"/p/{slugs[1]}")  # stamps on boxes sold last year still lead here
    assert old.status_code == 200
    assert "không còn được bán" in old.get_data(as_text=True)
    assert 'name="robots" content="noindex"' in old.get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert "Cam chưa bán" not in home and "Cam cũ" not in home
    login(client, outsider_id)
    assert client.get(f"/p/{slugs[0]}").status_code == 404
    login(client, member_id)
    preview = client.get(f"/p/{slugs[0]}")
    assert preview.status_code == 200
    assert "Bản xem trước" in preview.get_data(as_text=True)


def test_unknown_slugs_are_404(client):
    assert client.get("/p/khong-co").status_code == 404
    assert client.get("/c/khong-co").status_code == 404
    assert client.get("/p/" + "a" * 500).status_code == 404


def test_producer_page_tells_the_story_address_and_published_products(app, client):
    ids = _product(app)
    with app.app_context():
        make_product(db.session.get(Producer, ids["producer"]), name="Cam nháp", status="draft")
        db.session.commit()
    html = client.get(f"/c/{ids['producer_slug']}").get_data(as_text=True)
    assert "Cam trồng trên đồi đá vôi." in html
    assert "Xóm Cải, Xã Cao Phong, Phú Thọ" in html
    assert "Cam Cao Phong loại 1" in html
    assert "Cam nháp" not in html


def test_search_ignores_accents_and_matches_every_word(app, client):
    with app.app_context():
        producer = make_producer(name="HTX Ong Mật")
        from cooperatives.producers import product_search_text

        for name in ("Mật ong rừng", "Cam Cao Phong", "Mật mía"):
            product = make_product(producer, name=name)
            product.search_text = product_search_text(product, producer)
        db.session.commit()
    html = client.get("/?q=mat+ong").get_data(as_text=True)
    assert "Mật ong rừng" in html and "Mật mía" in html  # the producer's name has "ong mật"
    html = client.get("/?q=MẬT RỪNG").get_data(as_text=True)
    assert "Mật ong rừng" in html and "Mật mía" not in html and "Cam Cao Phong" not in html
    assert client.get("/?q=%25").status_code == 200
    assert "Mật" not in _main(client.get("/?q=%25").get_data(as_text=True))


def test_home_is_paginated_and_cards_show_price_from(app, client):
    with app.app_context():
        producer = make_producer()
        for n in range(30):
            make_product(producer, name=f"Rau số {n:02d}", price=10000 + n, variants=2)
        db.session.commit()
    first = client.get("/").get_data(as_text=True)
    assert "Rau số 29" in first and "Rau số 00" not in first
    assert "từ 10.029" in first
    second = client.get("/?page=2").get_data(as_text=True)
    assert "Rau số 00" in second
    assert client.get("/?page=abc").status_code == 200
    assert client.get("/?page=99999999999").status_code == 200


def _queries_for(app, client, path) -> int:
    with count_queries(app) as counter:
        assert client.get(path).status_code == 200
    return counter[0]


def test_catalog_pages_run_a_fixed_number_of_queries(app, client):
    with app.app_context():
        producer = make_producer()
        products = [make_product(producer, variants=3) for _ in range(3)]
        for p in products:
            make_certificate(p)
            db.session.add(ProductImage(product_id=p.id, key=f"k{p.id}", width=10, height=10))
        db.session.commit()
        slug, producer_slug = products[0].slug, producer.slug
    small = {path: _queries_for(app, client, path) for path in ("/", f"/c/{producer_slug}")}
    with app.app_context():
        producer = db.session.get(Producer, producer.id)
        for _ in range(15):
            p = make_product(producer, variants=3)
            make_certificate(p)
            db.session.add(ProductImage(product_id=p.id, key=f"k{p.id}", width=10, height=10))
        db.session.commit()
    for path, count in small.items():
        assert _queries_for(app, client, path) == count, path
    # the catalog's 5 at most, plus the shop's buy box: stock, the next lot, its facts
    assert _queries_for(app, client, f"/p/{slug}") <= 5 + 3
