"""Search without accents, word prefixes, filters and facets; one typo on PostgreSQL."""

from __future__ import annotations

import pytest

from core.db import db
from shop.search.services import Filters, search
from tests.factories import make_certificate, make_producer, make_product
from tests.shop.helpers import stocked_product


@pytest.fixture
def catalog(app):
    with app.app_context():
        hoa_binh = make_producer(name="HTX Cam Cao Phong", province_code=25)
        _p, cam, _v, _b = stocked_product(hoa_binh, units=5, name="Cam Cao Phong", price=250000)
        make_certificate(cam, total="80")  # 4 stars
        honey = make_product(
            make_producer(name="HTX Ong Mật", province_code=1), name="Mật ong bạc hà", price=180000
        )
        tea = make_product(
            make_producer(name="Hộ Trà"),
            name="Trà Shan tuyết đặc sản",
            price=90000,
            category_code="1.5",
        )
        make_product(hoa_binh, name="Cam sành bản nháp", status="draft")
        db.session.commit()
        ids = {"cam": cam.id, "honey": honey.id, "tea": tea.id}
    return ids


def _ids(app, q, filters=Filters()):
    with app.app_context():
        return search(q, filters).product_ids


def test_accents_and_case_do_not_matter(app, catalog):
    assert _ids(app, "cam cao phong") == [catalog["cam"]]
    assert _ids(app, "CAM CAO PHONG") == [catalog["cam"]]
    assert _ids(app, "mat ong") == [catalog["honey"]]
    assert _ids(app, "dac san") == [catalog["tea"]]
    assert _ids(app, "Đặc Sản") == [catalog["tea"]]


def test_word_prefixes_match_as_you_type_and_drafts_never_show(app, catalog):
    assert _ids(app, "cam ca") == [catalog["cam"]]
    assert _ids(app, "ong") == [catalog["honey"]] or catalog["honey"] in _ids(app, "ong")
    assert _ids(app, "nhap") == []
    assert _ids(app, "am") == []  # inside a word, not a word prefix


def test_filters_and_facets(app, catalog):
    assert _ids(app, "", Filters(stars=4)) == [catalog["cam"]]
    assert _ids(app, "", Filters(in_stock=True)) == [catalog["cam"]]
    assert _ids(app, "", Filters(province=1)) == [catalog["honey"]]
    assert _ids(app, "", Filters(group="1", price_max=100000)) == [catalog["tea"]]
    with app.app_context():
        facets = search("", Filters(price_min=1)).facets
    assert facets["province"][25] == 2 and facets["province"][1] == 1
    assert facets["stars"][4] == 1


def test_search_page_answers_bad_filters_plainly(app, client, catalog):
    page = client.get("/search?q=cam+cao+phong").get_data(as_text=True)
    assert "Cam Cao Phong" in page
    for query in (
        "?page=abc",
        "?page=99999999999",
        "?stars=9",
        "?province=٣",
        "?min=x&max=-1",
        "?q=%00",
    ):
        assert client.get("/search" + query).status_code == 200
    assert client.get("/g/1").status_code == 200
    assert client.get("/g/99").status_code == 404


@pytest.mark.postgres_only
def test_one_typo_is_tolerated_on_postgresql(app, catalog):
    assert _ids(app, "cam cao phog") == [catalog["cam"]]
