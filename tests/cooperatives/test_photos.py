"""Product photos: the farm's GPS never reaches the server's files; only real images are taken."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from cooperatives.models import Producer, ProductImage
from core.db import db
from core.images import image_path
from tests.conftest import login
from tests.cooperatives.catalog_helpers import jpeg_with_gps, png_bomb
from tests.factories import make_producer, make_product, make_user


@pytest.fixture
def product(app, client):
    with app.app_context():
        manager = make_user(name="Bà Lan")
        producer = make_producer(manager=manager)
        item = make_product(producer, name="Cam Cao Phong loại 1")
        db.session.commit()
        ids = {"producer": producer.id, "product": item.id, "manager": manager.id}
    login(client, ids["manager"])
    ids["url"] = f"/manage/{ids['producer']}/products/{ids['product']}/photos"
    return ids


def _upload(client, url, *files, alt=""):
    data = {"photos": [(io.BytesIO(content), name) for content, name in files], "alt": alt}
    return client.post(url, data=data, content_type="multipart/form-data")


def _images(app, product_id):
    with app.app_context():
        return [
            (i.id, i.key, i.alt, i.position)
            for i in db.session.scalars(
                select(ProductImage)
                .where(ProductImage.product_id == product_id)
                .order_by(ProductImage.position)
            )
        ]


def test_a_phone_photo_is_stored_without_any_exif(app, client, product):
    response = _upload(client, product["url"], (jpeg_with_gps(), "IMG_0001.jpg"), alt="Vườn cam")
    assert response.status_code == 302
    [(_id, key, alt, position)] = _images(app, product["product"])
    assert (alt, position) == ("Vườn cam", 0)
    with app.app_context():
        for variant in ("thumb", "card", "full"):
            path = image_path(key, variant)
            raw = path.read_bytes()
            assert b"Exif" not in raw and b"PhoneMaker" not in raw
            with Image.open(path) as stored:
                assert stored.format == "WEBP"
                assert not stored.getexif()
                assert "exif" not in stored.info and "xmp" not in stored.info


def _media_files(app) -> set:
    return set(Path(app.config["MEDIA_ROOT"]).rglob("*.webp"))


def test_a_text_file_named_jpg_is_refused_and_nothing_is_kept(app, client, product):
    before = _media_files(app)
    response = _upload(
        client, product["url"], (jpeg_with_gps(), "a.jpg"), (b"not a photo at all", "notes.jpg")
    )
    assert response.status_code == 422
    assert "không phải ảnh" in response.get_data(as_text=True)
    assert _images(app, product["product"]) == []
    assert _media_files(app) == before  # the good photo stored first was removed again


def test_a_decompression_bomb_is_refused(app, client, product):
    response = _upload(client, product["url"], (png_bomb(), "bomb.png"))
    assert response.status_code == 422
    assert "quá nhiều điểm ảnh" in response.get_data(as_text=True)
    assert _images(app, product["product"]) == []


def test_photos_are_reordered_described_and_deleted(app, client, product):
    for n in range(3):
        assert _upload(client, product["url"], (jpeg_with_gps(), f"{n}.jpg")).status_code == 302
    first, second, third = _images(app, product["product"])
    base = product["url"]
    assert client.post(f"{base}/{third[0]}", data={"action": "up"}).status_code == 302
    assert [i[0] for i in _images(app, product["product"])] == [first[0], third[0], second[0]]
    client.post(f"{base}/{second[0]}", data={"action": "alt", "alt": "Cam chín trên cây"})
    assert client.post(f"{base}/{first[0]}/delete").status_code == 302
    images = _images(app, product["product"])
    assert [(i[0], i[3]) for i in images] == [(third[0], 0), (second[0], 1)]
    assert images[1][2] == "Cam chín trên cây"
    with app.app_context():
        assert image_path(first[1], "full") is None  # files removed with the row


def test_a_photo_of_another_product_cannot_be_touched(app, client, product):
    with app.app_context():
        other = make_product(db.session.get(Producer, product["producer"]), name="Bưởi")
        db.session.commit()
        other_id = other.id
    _upload(client, product["url"], (jpeg_with_gps(), "a.jpg"))
    [(image_id, *_rest)] = _images(app, product["product"])
    wrong = f"/manage/{product['producer']}/products/{other_id}/photos/{image_id}/delete"
    assert client.post(wrong).status_code == 404
    assert len(_images(app, product["product"])) == 1
