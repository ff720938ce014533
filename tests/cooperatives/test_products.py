"""Products and variants: forms keep what was typed and save nothing on error; prices in đồng;
GTINs checked, never invented; publishing needs a variant on sale."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cooperatives.models import Product, Variant
from cooperatives.variants import VariantData, check_variant
from core.db import db
from core.errors import Invalid
from tests.conftest import login
from tests.factories import make_producer, make_product, make_user


@pytest.fixture
def shop(app, client):
    """A signed-in manager of one cooperative; returns ids."""
    with app.app_context():
        manager = make_user(name="Bà Lan")
        producer = make_producer(name="HTX Cam Cao Phong", manager=manager, gs1_prefix="8931234")
        db.session.commit()
        ids = {"producer": producer.id, "manager": manager.id}
    login(client, ids["manager"])
    return ids


def _products(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Product.id)))


def _variants(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Variant.id)))


def _create(client, producer_id, **data) -> int:
    response = client.post(f"/manage/{producer_id}/products/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].split("/products/")[1].split("/")[0])


def test_product_form_keeps_typed_values_and_saves_nothing_on_error(app, client, shop):
    data = {
        "name_vi": "",
        "name_en": "Cao Phong orange",
        "description_vi": "Ngọt, mọng nước.",
        "category_code": "1.1",
        "gtin": "8931234567890",  # wrong check digit (7 is right)
    }
    response = client.post(f"/manage/{shop['producer']}/products/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Vui lòng nhập tên sản phẩm." in html
    assert "Mã GTIN chưa đúng" in html
    assert 'value="Cao Phong orange"' in html
    assert "Ngọt, mọng nước." in html
    assert 'value="8931234567890"' in html
    assert 'value="1.1" selected' in html
    assert _products(app) == 0


def test_a_product_starts_as_a_draft_with_a_folded_search_text(app, client, shop):
    product_id = _create(
        client, shop["producer"], name_vi="Cam Cao Phong loại 1", category_code="1.1"
    )
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert product.status == "draft"
        assert product.slug == "cam-cao-phong-loai-1"
        assert product.created_by_id == shop["manager"]
        assert "cam cao phong loai 1" in product.search_text
        assert "htx cam cao phong" in product.search_text
        assert "phu tho" in product.search_text


def test_gtin_with_a_wrong_check_digit_is_refused(app, client, shop):
    for bad in ("8931234567890", "893123456789", "abc", "89312345678977"):
        response = client.post(
            f"/manage/{shop['producer']}/products/new", data={"name_vi": "Cam", "gtin": bad}
        )
        assert response.status_code == 422, bad
    assert _products(app) == 0


def test_a_real_gtin_is_stored_as_gtin14_and_only_once(app, client, shop):
    product_id = _create(client, shop["producer"], name_vi="Cam", gtin="893 1234 56789 7")
    with app.app_context():
        assert db.session.get(Product, product_id).gtin == "08931234567897"
    again = client.post(
        f"/manage/{shop['producer']}/products/new",
        data={"name_vi": "Cam 2", "gtin": "8931234567897"},
    )
    assert again.status_code == 422
    assert "đã dùng cho một sản phẩm khác" in again.get_data(as_text=True)
    assert _products(app) == 1


def test_a_gtin_outside_the_producers_gs1_prefix_is_refused(app, client, shop):
    response = client.post(
        f"/manage/{shop['producer']}/products/new", data={"name_vi": "Cam", "gtin": "4006381333931"}
    )
    assert response.status_code == 422
    assert "8931234" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("typed", "dong"),
    [
        ("150.000", 150000),
        ("150000 đ", 150000),
        ("150,000₫", 150000),
        ("150 000", 150000),
        ("1.250.000 VND", 1250000),
    ],
)
def test_prices_are_read_forgivingly_in_dong(typed, dong):
    checked = check_variant(VariantData(label="thùng 5 kg", pack_size="5", unit="kg", price=typed))
    assert checked.price_vnd == dong


@pytest.mark.parametrize("typed", ["", "mười nghìn", "-5000", "150.000,50", "1.5", "99999999999"])
def test_prices_that_are_not_whole_dong_are_refused(typed):
    with pytest.raises(Invalid) as caught:
        check_variant(VariantData(label="thùng 5 kg", pack_size="5", unit="kg", price=typed))
    assert "price" in caught.value.fields


def test_variant_form_keeps_typed_values_and_saves_nothing_on_error(app, client, shop):
    product_id = _create(client, shop["producer"], name_vi="Cam")
    data = {
        "label": "thùng 5 kg",
        "pack_size": "0",
        "unit": "kg",
        "price": "một trăm",
        "weight_grams": "5200",
        "sku": "",
        "active": "y",
    }
    response = client.post(
        f"/manage/{shop['producer']}/products/{product_id}/variants/new", data=data
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nhập giá bằng số đồng" in html
    assert "lớn hơn 0" in html
    assert 'value="thùng 5 kg"' in html
    assert 'value="một trăm"' in html
    assert 'value="5200"' in html
    assert _variants(app) == 0


def test_variants_get_a_unique_sku_when_left_blank(app, client, shop):
    product_id = _create(client, shop["producer"], name_vi="Cam")
    url = f"/manage/{shop['producer']}/products/{product_id}/variants/new"
    for _ in range(2):
        data = {
            "label": "thùng 5 kg",
            "pack_size": "5",
            "unit": "kg",
            "price": "250.000",
            "active": "y",
        }
        assert client.post(url, data=data).status_code == 302
    with app.app_context():
        variants = db.session.scalars(select(Variant).order_by(Variant.id)).all()
        skus = [v.sku for v in variants]
        assert skus[0] and skus[1] and skus[0] != skus[1]
        assert [v.price_vnd for v in variants] == [250000, 250000]
        assert variants[0].pack_size == 5
    taken = client.post(
        url,
        data={
            "label": "thùng 10 kg",
            "pack_size": "10",
            "unit": "kg",
            "price": "450000",
            "sku": skus[0].lower(),
        },
    )
    assert taken.status_code == 422
    assert _variants(app) == 2


def test_publishing_needs_a_variant_on_sale(app, client, shop):
    product_id = _create(client, shop["producer"], name_vi="Cam")
    status_url = f"/manage/{shop['producer']}/products/{product_id}/status"
    client.post(status_url, data={"status": "published"})
    with app.app_context():
        assert db.session.get(Product, product_id).status == "draft"
    client.post(
        f"/manage/{shop['producer']}/products/{product_id}/variants/new",
        data={
            "label": "thùng 5 kg",
            "pack_size": "5",
            "unit": "kg",
            "price": "250000",
            "active": "y",
        },
    )
    client.post(status_url, data={"status": "published"})
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert product.status == "published"
        assert product.published_at is not None
        variant_id = product.variants[0].id
    # the last variant on sale of a published product cannot be switched off
    response = client.post(
        f"/manage/{shop['producer']}/products/{product_id}/variants/{variant_id}",
        data={"label": "thùng 5 kg", "pack_size": "5", "unit": "kg", "price": "250000"},
    )
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Variant, variant_id).active is True
    assert client.post(status_url, data={"status": "nonsense"}).status_code == 302
    with app.app_context():
        assert db.session.get(Product, product_id).status == "published"


def test_editing_a_product_updates_its_search_text(app, client, shop):
    product_id = _create(client, shop["producer"], name_vi="Cam")
    response = client.post(
        f"/manage/{shop['producer']}/products/{product_id}",
        data={"name_vi": "Bưởi Năm Roi", "category_code": "1.1"},
    )
    assert response.status_code == 302
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert product.name_vi == "Bưởi Năm Roi"
        assert product.slug == "cam"  # stable address
        assert "buoi nam roi" in product.search_text


def test_product_pages_of_the_manager_list_status_and_prices(app, client, shop):
    with app.app_context():
        from cooperatives.models import Producer

        make_product(db.session.get(Producer, shop["producer"]), name="Cam loại 1", price=250000)
        db.session.commit()
    html = client.get(f"/manage/{shop['producer']}/products").get_data(as_text=True)
    assert "Cam loại 1" in html
    assert "250.000" in html
    assert "đang bán" in html
