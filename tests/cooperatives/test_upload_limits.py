"""Uploads cannot hold a worker: total pixels per request, and photos per account per hour."""

from __future__ import annotations

import io
from functools import cache

import pytest
from PIL import Image
from sqlalchemy import func, select

from cooperatives.models import ProductImage
from core.db import db
from core.images import MAX_REQUEST_PIXELS
from tests.conftest import login
from tests.factories import make_producer, make_product, make_user


@cache
def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


def _shop(app, client):
    with app.app_context():
        manager = make_user(name="Bà Lan")
        producer = make_producer(manager=manager)
        item = make_product(producer, name="Cam Cao Phong loại 1")
        db.session.commit()
        ids = {"product": item.id, "manager": manager.id}
        ids["url"] = f"/manage/{producer.id}/products/{item.id}/photos"
    login(client, ids["manager"])
    return ids


def _upload(client, url, files):
    data = {"photos": [(io.BytesIO(content), f"IMG_{n}.png") for n, content in enumerate(files)]}
    return client.post(url, data=data, content_type="multipart/form-data")


def _stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(ProductImage.id)))


def test_a_request_of_big_photos_is_refused_before_any_is_decoded(app, client):
    shop = _shop(app, client)
    big = _png(5000, 5000)  # 25 MP each: accepted alone, three together exceed the budget
    assert MAX_REQUEST_PIXELS < 3 * 25_000_000

    response = _upload(client, shop["url"], [big, big, big])

    assert response.status_code == 422
    assert "Các ảnh gửi cùng lúc quá lớn" in response.get_data(as_text=True)
    assert _stored(app) == 0


def test_photos_within_the_budget_are_accepted(app, client):
    shop = _shop(app, client)
    assert _upload(client, shop["url"], [_png(800, 600)] * 2).status_code == 302
    assert _stored(app) == 2


def test_photos_per_account_per_hour_count_every_file(build_app):
    limited = build_app(UPLOAD_LIMIT="3 per hour")
    client = limited.test_client()
    shop = _shop(limited, client)
    small = _png(400, 300)

    assert _upload(client, shop["url"], [small, small]).status_code == 302
    refused = _upload(client, shop["url"], [small, small])  # 4 > 3 within the hour

    assert refused.status_code == 429
    assert "quá nhiều ảnh" in refused.get_data(as_text=True)
    assert _stored(limited) == 2
    other = limited.test_client()  # another account is not affected
    other_shop = _shop(limited, other)
    assert _upload(other, other_shop["url"], [small]).status_code == 302


@pytest.fixture
def build_app(app, database_url, tmp_path):
    from wsgi import create_app

    built = []

    def build(**overrides):
        config = {
            "APP_ENV": "testing",
            "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MEDIA_ROOT": str(tmp_path / "media"),
            "WTF_CSRF_ENABLED": False,
            "PUBLIC_BASE_URL": "https://choque.test",
            "RATELIMIT_STORAGE_URI": "memory://",
            **overrides,
        }
        built.append(create_app(config))
        return built[-1]

    yield build
    for new_app in built:
        with new_app.app_context():
            db.session.remove()
            db.engine.dispose()
