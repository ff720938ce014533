"""The scan page's fast path tells the same thing as a full render: the verdict block is cut
once per kind of page and filled with escaped values, the three statements run on the DBAPI
cursor in the request's transaction, and every counted scan is committed with its row before
the answer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from cooperatives.models import Producer
from core.db import db, utcnow
from tests.traceability.stamps.test_stamps_support import make_farm
from traceability import stamps
from traceability.lots.recalls import recall_batch
from traceability.models import Batch, Scan, Stamp
from traceability.stamps import scan_cache

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile"}
BOT = {"User-Agent": "curl/8.5"}  # not counted: two views of a stamp say the same
CSRF = re.compile(r'name="csrf_token" value="[^"]*"')


def _farm(app, *, pin: bool = False, recalled: bool = False, producer: str | None = None):
    """Serials 1–5 active, 6 void, 7–10 never activated."""
    with app.app_context():
        farm = make_farm(10, pin=pin)
        stamps.activate_range(farm.producer_id, 1, 6, farm.batch_id)
        stamps.void_range(farm.producer_id, 6, 6, "Tem bị rách khi in")
        if producer is not None:
            db.session.get(Producer, farm.producer_id).name = producer
        if recalled:
            recall_batch(
                farm.batch_id, reason="Dư lượng thuốc vượt ngưỡng", actor_id=None, actor_role=""
            )
        db.session.commit()
    return farm


def _page(app, path: str, *, full: bool) -> str:
    """A cookie-less view of the page; `full` turns the place-holder pieces off (templates
    reloading: everything rendered by Jinja, as before the fast path)."""
    app.jinja_env.auto_reload = full
    try:
        response = app.test_client().get(path, headers=BOT)
    finally:
        app.jinja_env.auto_reload = False
    return CSRF.sub('name="csrf_token" value=""', response.get_data(as_text=True))


def _same(app, path: str) -> str:
    fast = _page(app, path, full=False)
    fast_again = _page(app, path, full=False)  # from the cut pieces this time
    full = _page(app, path, full=True)
    assert fast == full
    assert fast_again == full
    bodies = [key for key in scan_cache.fragments(app)._entries if key[0] == "body"]
    assert bodies  # the fast pages did come from cut pieces
    return fast


@pytest.mark.parametrize("pin", [False, True])
@pytest.mark.parametrize("query", ["", "?lang=en"])
def test_fast_pages_are_byte_for_byte_a_full_render_in_every_state(app, client, pin, query):
    farm = _farm(app, pin=pin)
    client.get(f"/s/{farm.codes[2]}", headers=PHONE)  # scanned once: counts and first time
    shown = {serial: _same(app, f"/s/{farm.codes[serial]}{query}") for serial in (1, 2, 6, 7)}
    _same(app, f"/s/ZZZZZZZZZZZZZ{query}")
    assert ('class="scan-pin"' in shown[1]) is pin  # the PIN form only where there is one
    assert 'class="scan-pin"' not in shown[6] + shown[7]
    for serial in (6, 7):
        assert "Cam Cao Phong loại 1" not in shown[serial]  # never product data


def test_fast_pages_match_a_full_render_for_a_recalled_lot_and_a_copy_warning(app, client):
    app.config["SCAN_COPY_WARNING_THRESHOLD"] = 2
    farm = _farm(app, pin=True, recalled=True)
    with app.app_context():  # seen from five networks on three days: independent sightings
        stamp = db.session.scalar(select(Stamp).where(Stamp.code == farm.codes[1]))
        first = utcnow() - timedelta(days=3)
        for i in range(5):
            at = first + timedelta(days=i % 3)
            db.session.add(Scan(stamp_id=stamp.id, scanned_at=at, network=f"198.51.{i}.0/24"))
        stamp.scan_count, stamp.first_scanned_at, stamp.last_scanned_at = 5, first, at
        db.session.commit()
    for _ in range(3):
        client.get(f"/s/{farm.codes[1]}", headers=PHONE)
    for query in ("", "?lang=en"):
        html = _same(app, f"/s/{farm.codes[1]}{query}")
        assert "scan-pin" not in html  # no PIN form for a recalled lot
    assert "Cảnh báo: tem này có thể bị sao chép" in _same(app, f"/s/{farm.codes[1]}")


def test_values_filled_into_the_pieces_are_escaped(app, client):
    farm = _farm(app, producer='HTX <script>alert("x")</script> & Co')
    html = _same(app, f"/s/{farm.codes[1]}")
    assert "<script>alert" not in html
    assert "HTX &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html
    assert "\x00" not in html  # no place-holder left behind


def test_each_counted_scan_is_committed_with_its_row_before_the_answer(app, client):
    farm = _farm(app)
    with app.app_context():
        stamp_id = db.session.scalar(select(Stamp.id).where(Stamp.code == farm.codes[3]))
    for n in range(1, 4):
        response = client.get(
            f"/s/{farm.codes[3]}", headers=PHONE, environ_base={"REMOTE_ADDR": "203.0.113.57"}
        )
        assert response.status_code == 200
        assert f"Đã quét {n} lần" in response.get_data(as_text=True)
        with app.app_context():  # a new session: sees only what was committed
            count = db.session.scalar(select(Stamp.scan_count).where(Stamp.id == stamp_id))
            rows = db.session.execute(
                select(Scan.network, Scan.client, Scan.via).where(Scan.stamp_id == stamp_id)
            ).all()
        assert count == n and len(rows) == n
        assert rows[-1] == ("203.0.113.0/24", "Chrome · Android", "code")


def test_an_unknown_code_counts_nothing_and_writes_nothing(app, client):
    _farm(app)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Scan))
    assert client.get("/s/ZZZZZZZZZZZZZ", headers=PHONE).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Scan)) == before


def test_a_recall_shows_on_the_very_next_fast_scan(app, client):
    farm = _farm(app)
    assert "Tem chính hãng, đã kích hoạt" in _page(app, f"/s/{farm.codes[1]}", full=False)
    with app.app_context():
        recall_batch(farm.batch_id, reason="Bao bì bị rách hàng loạt", actor_id=None, actor_role="")
        db.session.commit()
        assert db.session.get(Batch, farm.batch_id).status == "recalled"
    html = _page(app, f"/s/{farm.codes[1]}", full=False)
    assert "Tem thật, nhưng lô hàng này đã bị thu hồi" in html
    assert "Tem chính hãng, đã kích hoạt" not in html


def test_a_scan_is_three_statements_and_one_commit(app, client):
    """What SQLite itself runs for a scan of a cached lot (engine events do not see the raw
    cursor, so this listens to the driver): the counter and the scan row in one transaction
    (the driver begins it at the UPDATE, as it did under SQLAlchemy Core), one commit."""
    farm = _farm(app)
    client.get(f"/s/{farm.codes[1]}", headers=PHONE)  # the lot's part is cached
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("listens to SQLite's own trace")
    seen: list[str] = []

    def trace(dbapi_connection, record):
        dbapi_connection.set_trace_callback(seen.append)

    engine.dispose()  # new connections, each traced
    event.listen(engine, "connect", trace)
    try:
        response = client.get(f"/s/{farm.codes[2]}", headers=PHONE)
    finally:
        event.remove(engine, "connect", trace)
        engine.dispose()
    assert response.status_code == 200
    run = [" ".join(s.split()[:3]).upper() for s in seen if not s.startswith("PRAGMA")]
    assert run == [
        "SELECT STAMP.ID, STAMP.CODE,",
        "BEGIN",
        "UPDATE STAMP SET",
        "INSERT INTO SCAN",
        "COMMIT",
    ], run
