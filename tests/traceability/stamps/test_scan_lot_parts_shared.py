"""With Redis configured, a worker starting cold takes the lot part another worker rendered
(no statement to rebuild it) — and still never shows a stale one: a recall made anywhere shows
on the next scan in every worker."""

from __future__ import annotations

import uuid

import pytest

from core.db import db
from tests.cooperatives.catalog_helpers import count_queries
from tests.traceability.stamps.test_scan_cache import PHONE, _farm, _scan
from traceability.lots.recalls import recall_batch
from traceability.stamps import scan_cache
from wsgi import create_app

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def workers(app, database_url):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS, socket_timeout=0.5).ping()
    except Exception:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    prefix = f"choque-test-{uuid.uuid4().hex[:8]}:"
    apps = [
        create_app(
            {
                "APP_ENV": "testing",
                "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
                "SQLALCHEMY_DATABASE_URI": database_url,
                "WTF_CSRF_ENABLED": False,
                "PUBLIC_BASE_URL": "https://choque.test",
                "REDIS_URL": REDIS,
                "SCAN_LOT_PARTS_IN_REDIS": True,
                "PAGE_CACHE_PREFIX": prefix,
            }
        )
        for _ in range(2)
    ]
    yield apps
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    for each in apps:
        with each.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_cold_worker_takes_the_lot_part_another_built(workers):
    first, second = workers
    farm = _farm(first)
    page = _scan(first.test_client(), farm.codes[1])
    assert "Tem chính hãng" in page
    assert len(scan_cache.fragments(second)) == 0
    with count_queries(second) as queries:
        again = _scan(second.test_client(), farm.codes[2])
    assert queries[0] == 0  # the scan's own statement runs on the raw cursor; no rebuild
    assert "Tem chính hãng" in again and "CP-2026-11A" in again


def test_a_recall_shows_in_every_worker_on_the_next_scan(workers):
    first, second = workers
    farm = _farm(first)
    for app in workers:
        assert "thu hồi" not in _scan(app.test_client(), farm.codes[1]).lower()
    with first.app_context():
        recall_batch(
            farm.batch_id, reason="Nghi nhiễm khuẩn salmonella", actor_id=None, actor_role="admin"
        )
        db.session.commit()
    for app in (second, first):
        response = app.test_client().get(f"/s/{farm.codes[1]}", headers=PHONE)
        html = response.get_data(as_text=True)
        assert "Lô hàng đã bị thu hồi" in html
        assert "Nghi nhiễm khuẩn salmonella" in html  # the lot part itself, not only the verdict
