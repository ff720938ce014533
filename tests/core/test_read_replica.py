"""A read replica serves anonymous public pages only while it has replayed every change the page
cache was told of; signed-in visitors, writes and the scan page read the primary; a replica that
is unreachable or fails mid-page gives way to the primary, never a 500 (core/replica.py).

The routing tests point DATABASE_REPLICA_URL at the test database itself through a second
engine (a server not in recovery counts as caught up) and tell the engines apart by the
statements each runs; a lagging replica is a replica whose reported replay position is held
back. tests/core/test_read_replica_standby.py does the same against a real streaming standby.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import event, text

from core import pagecache
from core import replica as replica_module
from core.config import ConfigError, load_config
from core.db import db
from core.replica import FileWatermark, RedisWatermark, lsn_to_int
from tests.conftest import login
from tests.core.replica_helpers import (
    STARS,
    arrange,
    dispose,
    html,
    replica_app,
    revoke_and_rename,
    served_by,
)
from tests.live import free_port

# --------------------------------------------------------------------------- without a replica


def test_without_the_setting_there_is_no_replica_and_pages_answer(client, app):
    assert replica_module.replica(app) is None
    assert client.get("/").status_code == 200


def test_the_setting_needs_postgresql_on_both_sides(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/choque")
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://u@replica.example/choque")
    config = load_config(tmp_path, {"APP_ENV": "testing", "SECRET_KEY": "k" * 40})
    assert config["DATABASE_REPLICA_URL"] == "postgresql+psycopg://u@replica.example/choque"
    monkeypatch.setenv("DATABASE_REPLICA_URL", "sqlite:///replica.db")
    with pytest.raises(ConfigError, match="DATABASE_REPLICA_URL"):
        load_config(tmp_path, {"APP_ENV": "testing", "SECRET_KEY": "k" * 40})
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgresql://u@replica.example/choque")
    with pytest.raises(ConfigError, match="primary"):
        load_config(tmp_path, {"APP_ENV": "testing", "SECRET_KEY": "k" * 40})


# --------------------------------------------------------------------------- the watermark


def test_positions_compare_as_numbers():
    assert lsn_to_int("0/3000000") == 0x3000000
    assert lsn_to_int("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert lsn_to_int("1/0") > lsn_to_int("0/FFFFFFFF")


def test_the_file_watermark_only_rises_and_can_be_distrusted(tmp_path, monkeypatch):
    mark = FileWatermark(tmp_path / "replica-lsn")
    assert mark.required() == 0
    mark.raise_to(lsn_to_int("1/10"))
    mark.raise_to(lsn_to_int("0/FFFFFFFF"))  # a slower worker's older position
    assert mark.required() == lsn_to_int("1/10")
    mark.distrust(60)
    assert mark.required() is None
    import time

    later = time.time() + 61
    monkeypatch.setattr(replica_module.time, "time", lambda: later)
    assert mark.required() == lsn_to_int("1/10")


def test_the_redis_watermark_only_rises_past_float_precision():
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    prefix = f"test-replica-{uuid.uuid4().hex[:8]}:"
    mark = RedisWatermark(url, prefix)
    try:
        assert mark.required() == 0
        big = 2**60 + 1  # beyond what a double holds exactly
        mark.raise_to(big)
        mark.raise_to(2**60)
        assert mark.required() == big
        mark.distrust(5)
        assert mark.required() is None
    finally:
        mark.client.delete(mark.key, mark.distrust_key)


# --------------------------------------------------------------------------- routing (PostgreSQL)


@pytest.fixture
def routed(app, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    routed_app = replica_app(database_url, database_url, tmp_path)
    yield routed_app
    dispose(routed_app)


@pytest.mark.postgres_only
def test_anonymous_public_pages_are_read_from_the_replica(routed):
    ids = arrange(routed)
    for path in (*ids["pages"], "/search?q=cam", "/g/1"):
        with served_by(routed) as counts:
            html(routed, path)
        assert counts["replica"] > 0 and counts["primary"] == 0, (path, counts)


@pytest.mark.postgres_only
def test_signed_in_visitors_writes_and_the_scan_page_read_the_primary(routed):
    ids = arrange(routed)
    client = routed.test_client()
    login(client, ids["manager"])
    with served_by(routed) as counts:
        assert client.get(ids["pages"][0]).status_code == 200
        assert client.get("/search?q=cam").status_code == 200
    assert counts["replica"] == 0 and counts["primary"] > 0
    anonymous = routed.test_client()
    with served_by(routed) as counts:
        anonymous.get("/s/KHONGCOTEMNAY")  # the scan page: reads and counts in one statement
        anonymous.post("/cart/add", data={"variant_id": "1", "quantity": "1"})
    assert counts["replica"] == 0 and counts["primary"] > 0


@pytest.mark.postgres_only
def test_a_replica_behind_the_last_change_is_not_read(routed, monkeypatch):
    ids = arrange(routed)  # the arrangement raised the watermark
    replica = replica_module.replica(routed)
    with routed.app_context():
        position = db.session.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar()
    held_back = lsn_to_int(position)
    monkeypatch.setattr(replica, "replayed", lambda _session: (True, held_back))
    revoke_and_rename(routed, ids["product"], "Cam Canh Hà Giang")
    assert replica.watermark.required() > held_back
    for path in ids["pages"]:
        with served_by(routed) as counts:
            page = html(routed, path)
        assert STARS not in page and "Cam Canh Hà Giang" in page
        assert counts["replica"] == 0, (path, counts)
    monkeypatch.setattr(replica, "replayed", lambda _session: (True, 2**63))  # caught up
    pagecache.store(routed).clear()
    with served_by(routed) as counts:
        assert "Cam Canh Hà Giang" in html(routed, ids["pages"][0])
    assert counts["replica"] > 0


@pytest.mark.postgres_only
def test_the_watermark_is_raised_before_the_tags_are_bumped(routed, monkeypatch):
    ids = arrange(routed)
    store = pagecache.store(routed)
    watermark = replica_module.replica(routed).watermark
    before = watermark.required()
    seen = []
    bump = store.bump
    monkeypatch.setattr(store, "bump", lambda tags: (seen.append(watermark.required()), bump(tags)))
    revoke_and_rename(routed, ids["product"], "Cam mới")
    with routed.app_context():
        later = db.session.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar()
    # Raised to a position at or past the commit (taken after it), and before the bump.
    assert seen and before < seen[0] <= lsn_to_int(later)


@pytest.mark.postgres_only
def test_an_unreachable_replica_gives_way_to_the_primary(app, database_url, tmp_path):
    nowhere = database_url.replace("127.0.0.1:5432", f"127.0.0.1:{free_port()}")
    assert nowhere != database_url
    routed_app = replica_app(database_url, nowhere, tmp_path)
    try:
        ids = arrange(routed_app)
        for path in (*ids["pages"], "/search?q=cam"):
            assert "Cam Cao Phong loại 1" in html(routed_app, path)
    finally:
        dispose(routed_app)


@pytest.mark.postgres_only
def test_a_replica_failing_mid_page_gives_way_to_the_primary(routed):
    ids = arrange(routed)
    engine = replica_module.replica(routed).engine

    def cancel(_conn, _cursor, statement, *_args):
        if "FROM product" in statement:
            raise psycopg.errors.SerializationFailure(
                "canceling statement due to conflict with recovery"
            )

    event.listen(engine, "before_cursor_execute", cancel)
    try:
        with served_by(routed) as counts:
            page = html(routed, ids["pages"][0])
    finally:
        event.remove(engine, "before_cursor_execute", cancel)
    assert "Cam Cao Phong loại 1" in page and counts["primary"] > 0
