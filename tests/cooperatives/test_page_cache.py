"""The page cache never lies: a product, producer or home page served from it always shows what
the database says now — stars lapse at midnight, a revoked certificate, a renamed product or
producer, a new price show on the very next visit, in every worker sharing the cache (the
host's epoch file, or Redis). Anonymous answers are conditional (304) and proxy-cacheable."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from cooperatives.models import OcopCertificate, Producer, Product, Variant
from core import pagecache
from core.db import db, unit_of_work
from core.i18n import local_today
from tests.cooperatives.catalog_helpers import count_queries
from tests.factories import make_certificate, make_producer, make_product
from wsgi import create_app


def _cached_app(database_url: str, tmp_path, **config):
    settings = {
        "APP_ENV": "testing",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "PUBLIC_BASE_URL": "https://choque.test",
        "PAGE_CACHE": "local",
        "PAGE_CACHE_EPOCH_FILE": str(tmp_path / "page-epoch"),
        **config,
    }
    return create_app(settings)


@pytest.fixture
def workers(app, database_url, tmp_path):
    """Two apps sharing one database and one page-cache epoch: two gunicorn workers."""
    apps = [_cached_app(database_url, tmp_path) for _ in range(2)]
    yield apps
    for each in apps:
        with each.app_context():
            db.session.remove()
            db.engine.dispose()


def _arrange(app) -> dict:
    with app.app_context(), unit_of_work():
        producer = make_producer(name="HTX Cam Cao Phong")
        product = make_product(producer, name="Cam Cao Phong loại 1", price=250000)
        make_certificate(product, decision_date=local_today() - timedelta(days=30))
        return {
            "product": product.id,
            "producer": producer.id,
            "page": f"/p/{product.slug}",
            "producer_page": f"/c/{producer.slug}",
        }


def _html(app, path: str, **kwargs) -> str:
    return app.test_client().get(path, **kwargs).get_data(as_text=True)


def test_a_second_visit_is_served_without_touching_the_database(workers):
    first, _ = workers
    ids = _arrange(first)
    assert "Cam Cao Phong loại 1" in _html(first, ids["page"])
    with count_queries(first) as queries:
        html = _html(first, ids["page"])
    assert "Cam Cao Phong loại 1" in html and "★★★★" in html
    assert queries[0] == 0


def test_revoked_certificate_loses_its_stars_in_every_worker(workers):
    first, second = workers
    ids = _arrange(first)
    for app in workers:
        assert "★★★★" in _html(app, ids["page"])
        assert "★★★★" in _html(app, ids["producer_page"])
    with first.app_context(), unit_of_work():
        for certificate in db.session.scalars(db.select(OcopCertificate)):
            certificate.status = "revoked"
    for app in (second, first):
        assert "★★★★" not in _html(app, ids["page"])
        assert "★★★★" not in _html(app, ids["producer_page"])


def test_stars_lapse_at_midnight_with_no_write(workers, monkeypatch):
    first, _ = workers
    ids = _arrange(first)
    with first.app_context():
        until = db.session.scalars(db.select(OcopCertificate.valid_until)).one()
    assert "★★★★" in _html(first, ids["page"])
    import cooperatives.catalog
    import core.i18n

    for module in (core.i18n, cooperatives.catalog):
        monkeypatch.setattr(module, "local_today", lambda: until + timedelta(days=1))
    assert "★★★★" not in _html(first, ids["page"])


def test_renamed_product_producer_and_new_price_show_at_once(workers):
    first, second = workers
    ids = _arrange(first)
    for path in (ids["page"], ids["producer_page"], "/"):
        assert "Cam Cao Phong loại 1" in _html(second, path)
    with first.app_context(), unit_of_work():
        db.session.get(Product, ids["product"]).name_vi = "Cam Canh Hà Giang"
    for path in (ids["page"], ids["producer_page"], "/"):
        html = _html(second, path)
        assert "Cam Canh Hà Giang" in html and "Cam Cao Phong loại 1" not in html
    with first.app_context(), unit_of_work():
        db.session.get(Producer, ids["producer"]).name = "HTX Bưởi Đoan Hùng"
        db.session.scalars(db.select(Variant)).first().price_vnd = 199000
    html = _html(second, ids["page"])
    assert "HTX Bưởi Đoan Hùng" in html and "199.000" in html


def test_a_rolled_back_change_keeps_the_cache_and_the_truth(workers):
    first, _ = workers
    ids = _arrange(first)
    _html(first, ids["page"])
    with pytest.raises(RuntimeError), first.app_context(), unit_of_work():
        db.session.get(Product, ids["product"]).name_vi = "Never committed"
        db.session.flush()
        raise RuntimeError("boom")
    with count_queries(first) as queries:
        html = _html(first, ids["page"])
    assert "Never committed" not in html and queries[0] == 0


def test_writes_the_orm_does_not_see_use_the_invalidation_hook(workers):
    first, second = workers
    ids = _arrange(first)
    assert "250.000" in _html(second, ids["page"])
    with first.app_context(), unit_of_work():  # like a stock import in bulk: no ORM object
        db.session.execute(update(Variant).values(price_vnd=180000))
        pagecache.invalidate(f"product:{ids['product']}")
    assert "180.000" in _html(second, ids["page"])


def test_anonymous_answers_are_conditional_and_proxy_cacheable(workers):
    first, _ = workers
    ids = _arrange(first)
    client = first.test_client()
    response = client.get(ids["page"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    assert "stale-while-revalidate=" in response.headers["Cache-Control"]
    assert "Cookie" in response.headers["Vary"]
    assert response.headers["Last-Modified"]
    etag = response.headers["ETag"]
    again = client.get(ids["page"], headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    with first.app_context(), unit_of_work():
        db.session.get(Product, ids["product"]).name_vi = "Cam mới"
    changed = client.get(ids["page"], headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "Cam mới" in changed.get_data(as_text=True)
    assert changed.headers["ETag"] != etag


def test_a_visitor_with_a_session_is_never_served_a_shared_page(workers):
    first, _ = workers
    ids = _arrange(first)
    _html(first, ids["page"])
    client = first.test_client()
    client.set_cookie("session", "anything")
    response = client.get(ids["page"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"


def test_search_results_and_missing_pages_are_not_kept(workers):
    first, _ = workers
    _arrange(first)
    assert first.test_client().get("/p/khong-co").status_code == 404
    store = pagecache.store(first)
    assert store is not None and len(store._pages) == 0
    first.test_client().get("/?q=cam")
    assert len(store._pages) == 0


def _count_redis_calls(store) -> dict[str, int]:
    """Count the store's Redis commands from now on (the client is wrapped, not replaced)."""
    calls: dict[str, int] = {}
    client = store.client
    for name in ("get", "mget", "set"):
        real = getattr(client, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls[_name] = calls.get(_name, 0) + 1
            return _real(*args, **kwargs)

        setattr(client, name, spy)
    return calls


def _redis_or_skip() -> str:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_timeout=0.5).ping()
    except Exception:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return url


def test_redis_shares_pages_and_invalidations_between_hosts(app, database_url, tmp_path):
    url = _redis_or_skip()
    prefix = f"choque-test-{uuid.uuid4().hex[:8]}:"
    hosts = [
        _cached_app(
            database_url, tmp_path, PAGE_CACHE="redis", REDIS_URL=url, PAGE_CACHE_PREFIX=prefix
        )
        for _ in range(2)
    ]
    try:
        first, second = hosts
        ids = _arrange(first)
        assert "Cam Cao Phong loại 1" in _html(first, ids["page"])
        with count_queries(second) as queries:  # built by the first host, served by the second
            assert "Cam Cao Phong loại 1" in _html(second, ids["page"])
        assert queries[0] == 0
        with first.app_context(), unit_of_work():
            db.session.get(Product, ids["product"]).name_vi = "Cam Vinh"
        assert "Cam Vinh" in _html(second, ids["page"])
        # The second host now holds the page in front of Redis: one check of the page's tags'
        # generations answers the next visit, and a revocation on the first host still shows.
        calls = _count_redis_calls(pagecache.store(second))
        assert "★★★★" in _html(second, ids["page"])
        assert calls == {"mget": 1}
        with first.app_context(), unit_of_work():
            for certificate in db.session.scalars(db.select(OcopCertificate)):
                certificate.status = "revoked"
        assert "★★★★" not in _html(second, ids["page"])
        assert "★★★★" not in _html(second, ids["producer_page"])
    finally:
        store = pagecache.store(hosts[0])
        for key in store.client.scan_iter(f"{prefix}*"):
            store.client.delete(key)
        for each in hosts:
            with each.app_context():
                db.session.remove()
                db.engine.dispose()
