"""Lot parts shared through Redis (core.fragment_cache.SharedStore): a cold worker takes the part
another worker rendered instead of rebuilding it, and the shared copy never lies — a recall, a
revoked certificate or one lapsing at midnight shows on the next scan in every worker, cold or
warm. Two apps on one database and one Redis stand for two workers (or hosts)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

import core.i18n
from cooperatives.models import OcopCertificate
from core.db import db
from core.fragment_cache import SharedStore
from tests.traceability.stamps.test_stamps_support import make_farm
from traceability import stamps
from traceability.lots.recalls import recall_batch
from traceability.models import Stamp
from traceability.stamps import scan_cache, scan_page
from wsgi import create_app

REDIS_URL = "redis://127.0.0.1:6379/13"
PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile"}
RECALLED = "Tem thật, nhưng lô hàng này đã bị thu hồi"


def _redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=0.5).ping())
    except Exception:  # noqa: BLE001 - any failure means: no Redis here
        return False


@pytest.fixture
def workers(app):
    """Two more apps on the test database sharing one Redis prefix (deleted afterwards)."""
    if not _redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    prefix = f"choque-test-{uuid.uuid4().hex[:8]}:"
    made = [_worker(app, REDIS_URL, prefix) for _ in range(3)]
    yield made
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    for worker in made:
        with worker.app_context():
            db.engine.dispose()


def _worker(app, redis_url: str, prefix: str):
    return create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": app.config["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "MEDIA_ROOT": app.config["MEDIA_ROOT"],
            "WTF_CSRF_ENABLED": False,
            "PUBLIC_BASE_URL": "https://choque.test",
            "SERVER_NAME": None,
            "REDIS_URL": redis_url,
            "PAGE_CACHE_PREFIX": prefix,
            "PAGE_CACHE": "off",
        }
    )


def _farm(app):
    with app.app_context():
        farm = make_farm(10, pin=True)
        stamps.activate_range(farm.producer_id, 1, 5, farm.batch_id)
        db.session.commit()
    return farm


def _scan(worker, code: str) -> str:
    response = worker.test_client().get(f"/s/{code}", headers=PHONE)
    assert response.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def _parts(worker) -> scan_cache.FragmentCache:
    return scan_cache.fragments(worker)


def test_a_cold_worker_takes_the_lot_part_another_worker_rendered(app, workers):
    one, two, _ = workers
    farm = _farm(app)
    first = _scan(one, farm.codes[1])
    assert _parts(one).shared_builds == 1
    second = _scan(two, farm.codes[2])
    assert (_parts(two).shared_builds, _parts(two).shared_hits) == (0, 1)  # nothing rendered here
    assert "Cam Cao Phong loại 1" in second and "OCOP 4 sao" in second
    assert "Cam Cao Phong loại 1" in first

    def lot_parts(worker):
        return [v for k, (_, v) in _parts(worker)._entries.items() if k[0] == farm.batch_id]

    assert lot_parts(one) == lot_parts(two) and len(lot_parts(two)) == 1  # the very same part


def test_a_recall_shows_in_every_worker_warm_or_cold(app, workers):
    one, two, cold = workers
    farm = _farm(app)
    _scan(one, farm.codes[1])
    assert RECALLED not in _scan(two, farm.codes[1])  # both workers hold the part now
    with app.app_context():  # the recall is made anywhere else (another worker, a command)
        recall_batch(farm.batch_id, reason="Nấm mốc trong hộp", actor_id=None, actor_role="")
        db.session.commit()
    for worker in (cold, one, two):  # cold: Redis holds only the part of before the recall
        page = _scan(worker, farm.codes[1])
        assert RECALLED in page and "Nấm mốc trong hộp" in page
        assert "Kiểm tra mã PIN" not in page and "Mua sản phẩm này" not in page
    assert _parts(cold).shared_builds == 1  # the first to see the new version built it…
    assert (
        _parts(one).shared_builds + _parts(two).shared_builds == 1
    )  # …the others took it from Redis


def test_a_revoked_certificate_is_never_shown_from_redis(app, workers):
    one, two, cold = workers
    farm = _farm(app)
    assert "OCOP 4 sao" in _scan(one, farm.codes[1])
    with app.app_context():
        certificate = db.session.scalar(
            select(OcopCertificate).where(OcopCertificate.product_id == farm.product_id)
        )
        certificate.status = "revoked"
        certificate.revoked_reason = "Không duy trì tiêu chuẩn"
        db.session.commit()
    for worker in (cold, two, one):
        assert "OCOP 4 sao" not in _scan(worker, farm.codes[1])


def test_stars_lapsing_at_midnight_are_never_shown_from_redis(app, workers, monkeypatch):
    one, two, _ = workers
    farm = _farm(app)
    with app.app_context():
        valid_until = db.session.scalar(
            select(OcopCertificate.valid_until).where(OcopCertificate.product_id == farm.product_id)
        )
    monkeypatch.setattr(core.i18n, "local_today", lambda: valid_until)
    assert "OCOP 4 sao" in _scan(one, farm.codes[1])  # its last day, now in Redis
    monkeypatch.setattr(core.i18n, "local_today", lambda: valid_until + timedelta(days=1))
    assert "OCOP 4 sao" not in _scan(two, farm.codes[1])  # cold worker, next day: no write
    assert "OCOP 4 sao" not in _scan(one, farm.codes[1])


def test_redis_unreachable_builds_the_part_here(app):
    worker = _worker(app, "redis://127.0.0.1:1/0", "choque-test-down:")
    try:
        farm = _farm(app)
        assert "Cam Cao Phong loại 1" in _scan(worker, farm.codes[1])
        assert "Cam Cao Phong loại 1" in _scan(worker, farm.codes[2])
        assert _parts(worker).shared_builds == 1 and _parts(worker).shared_hits == 0
    finally:
        with worker.app_context():
            db.engine.dispose()


def test_a_new_release_never_reads_what_the_old_code_rendered():
    old = SharedStore(REDIS_URL, "p:", lambda: "release-a")
    new = SharedStore(REDIS_URL, "p:", lambda: "release-b")
    version = ("2026-12-01", "active", "head")
    assert old.name("lots", (1, "vi", None), version) != new.name("lots", (1, "vi", None), version)
    assert old.name("lots", (1, "vi", None), version) != old.name("lots", (1, "en", None), version)
    assert old.name("lots", (1, "vi", None), version) != old.name(
        "lots", (1, "vi", None), (*version[:2], "other head")
    )


def test_warming_after_a_deploy_renders_every_lot_part_before_the_first_scan(
    app, workers, monkeypatch
):
    one, two, _ = workers
    farm, other = _farm(app), _farm(app)
    result = one.test_cli_runner().invoke(args=["stamps", "warm"])
    assert result.exit_code == 0, result.output
    assert "6 lot parts ready" in result.output  # two lots: Vietnamese, English by link, by cookie
    rendered = []
    build = scan_page._build_fragment
    monkeypatch.setattr(
        scan_page, "_build_fragment", lambda facts: rendered.append(facts) or build(facts)
    )
    vietnamese = _scan(two, farm.codes[1])
    english = two.test_client().get(f"/s/{farm.codes[2]}?lang=en", headers=PHONE)
    _scan(two, other.codes[1])
    assert rendered == []  # the new worker rendered no lot part: all came from Redis
    assert "OCOP 4 sao" in vietnamese and "Cam Cao Phong loại 1" in vietnamese
    assert english.status_code == 200 and 'lang="en"' in english.get_data(as_text=True)
    with app.app_context():  # warming reads stamps, it never counts a scan
        counts = db.session.scalars(
            select(Stamp.scan_count).where(Stamp.code.in_([farm.codes[1], farm.codes[2]]))
        ).all()
    assert sorted(counts) == [1, 1]


def test_warming_without_redis_says_there_is_nothing_to_share(app):
    result = app.test_cli_runner().invoke(args=["stamps", "warm"])
    assert result.exit_code == 0 and "REDIS_URL is not set" in result.output
