"""The scan page's cached lot part never lies: whatever changes what the page says about a lot
(a recall, a void, an activation, a new event, a certificate revoked or lapsing at midnight, a
product or producer edit, a new lot made from it) shows on the very next scan; and a scan
costs a handful of SQL statements."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

import core.i18n
from cooperatives.models import OcopCertificate, Producer, Product
from core.db import db
from tests.factories import make_batch
from tests.traceability.stamps.test_stamps_support import make_farm
from traceability import stamps
from traceability.lots.events import record_event
from traceability.lots.recalls import recall_batch
from traceability.models import Batch, Stamp
from traceability.stamps import scan_cache

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile"}


def _farm(app, pin: bool = False):
    with app.app_context():
        farm = make_farm(10, pin=pin)
        stamps.activate_range(farm.producer_id, 1, 5, farm.batch_id)
        db.session.commit()
    return farm


def _scan(client, code: str) -> str:
    response = client.get(f"/s/{code}", headers=PHONE)
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def _cache(app) -> scan_cache.FragmentCache:
    return scan_cache.fragments(app)


def test_repeat_scans_of_a_lot_reuse_its_rendered_part(app, client):
    farm = _farm(app)
    first = _scan(client, farm.codes[1])
    misses = _cache(app).misses
    second = _scan(client, farm.codes[2])
    assert _cache(app).misses == misses  # same lot, same version: not rendered again
    assert "Cam Cao Phong loại 1" in first and "Cam Cao Phong loại 1" in second
    assert "Tem số 2 do HTX Cam Cao Phong phát hành cho lô CP-2026-11A" in second


def test_a_recall_shows_on_the_next_scan_without_buy_link_or_pin_form(app, client):
    farm = _farm(app, pin=True)
    before = _scan(client, farm.codes[1])
    assert "Mua sản phẩm này" in before and "Kiểm tra mã PIN" in before
    with app.app_context():
        recall_batch(
            farm.batch_id, reason="Dư lượng thuốc vượt ngưỡng", actor_id=None, actor_role=""
        )
        db.session.commit()
    after = _scan(client, farm.codes[1])
    assert "LÔ HÀNG ĐÃ BỊ THU HỒI" in after
    assert "Dư lượng thuốc vượt ngưỡng" in after
    assert "Tem thật, nhưng lô hàng này đã bị thu hồi" in after
    assert "Mua sản phẩm này" not in after
    assert "Kiểm tra mã PIN" not in after
    assert "Thông tin lô hàng" in after and "Hành trình" in after  # facts and journey stay


def test_a_right_pin_on_a_recalled_lot_says_recalled_and_is_not_recorded(app, client):
    farm = _farm(app, pin=True)
    with app.app_context():
        pin = stamps.stamp_pin(farm.run_id, 1)
        recall_batch(
            farm.batch_id, reason="Dư lượng thuốc vượt ngưỡng", actor_id=None, actor_role=""
        )
        db.session.commit()
    response = client.post(f"/s/{farm.codes[1]}/pin", data={"pin": pin}, headers=PHONE)
    text = " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())
    assert "đã bị thu hồi: không sử dụng sản phẩm" in text
    assert "Hàng chính hãng — xác thực lần đầu" not in text
    with app.app_context():
        stamp = db.session.scalar(select(Stamp).where(Stamp.code == farm.codes[1]))
        assert stamp.pin_verified_at is None


def test_a_void_shows_on_the_next_scan(app, client):
    farm = _farm(app)
    assert "Tem chính hãng, đã kích hoạt" in _scan(client, farm.codes[3])
    with app.app_context():
        stamps.void_range(farm.producer_id, 3, 3, "tem bị rách")
        db.session.commit()
    after = _scan(client, farm.codes[3])
    assert "Tem đã bị hủy" in after
    assert "Cam Cao Phong loại 1" not in after


def test_an_activation_shows_on_the_next_scan(app, client):
    farm = _farm(app)
    assert "Tem chưa được kích hoạt" in _scan(client, farm.codes[8])
    with app.app_context():
        stamps.activate_range(farm.producer_id, 6, 10, farm.batch_id)
        db.session.commit()
    after = _scan(client, farm.codes[8])
    assert "Tem chính hãng, đã kích hoạt" in after
    assert "Cam Cao Phong loại 1" in after


def test_a_new_event_shows_on_the_next_scan(app, client):
    farm = _farm(app)
    assert "Đóng gói" not in _scan(client, farm.codes[1])
    with app.app_context():
        record_event(farm.batch_id, "packing", location_text="Xưởng đóng gói Cao Phong")
        db.session.commit()
    after = _scan(client, farm.codes[1])
    assert "Xưởng đóng gói Cao Phong" in after


def test_a_revoked_certificate_loses_its_stars_on_the_next_scan(app, client):
    farm = _farm(app)
    assert "OCOP 4 sao" in _scan(client, farm.codes[1])
    with app.app_context():
        certificate = db.session.scalar(
            select(OcopCertificate).where(OcopCertificate.product_id == farm.product_id)
        )
        certificate.status = "revoked"  # what cooperatives.ocop.revoke_certificate writes
        certificate.revoked_reason = "Không duy trì tiêu chuẩn"
        db.session.commit()
    assert "OCOP 4 sao" not in _scan(client, farm.codes[1])


def test_a_certificate_lapsing_at_midnight_loses_its_stars_without_any_write(
    app, client, monkeypatch
):
    farm = _farm(app)
    with app.app_context():
        valid_until = db.session.scalar(
            select(OcopCertificate.valid_until).where(OcopCertificate.product_id == farm.product_id)
        )
    monkeypatch.setattr(core.i18n, "local_today", lambda: valid_until)
    assert "OCOP 4 sao" in _scan(client, farm.codes[1])  # its last day
    monkeypatch.setattr(core.i18n, "local_today", lambda: valid_until + timedelta(days=1))
    assert "OCOP 4 sao" not in _scan(client, farm.codes[1])


def test_product_and_producer_edits_show_on_the_next_scan(app, client):
    farm = _farm(app)
    _scan(client, farm.codes[1])
    with app.app_context():
        db.session.get(Product, farm.product_id).name_vi = "Cam Cao Phong đặc biệt"
        db.session.commit()
    assert "Cam Cao Phong đặc biệt" in _scan(client, farm.codes[1])
    with app.app_context():
        db.session.get(Producer, farm.producer_id).name = "HTX Cam Cao Phong Xanh"
        db.session.commit()
    after = _scan(client, farm.codes[1])
    assert "HTX Cam Cao Phong Xanh" in after
    assert "phát hành cho lô CP-2026-11A" in after


def test_a_lot_made_from_this_one_and_its_recall_show_on_the_next_scan(app, client):
    farm = _farm(app)
    assert "Đã dùng cho lô" not in _scan(client, farm.codes[1])
    with app.app_context():
        product = db.session.get(Product, farm.product_id)
        parent = db.session.get(Batch, farm.batch_id)
        child = make_batch(product, lot_code="CP-2026-11A-T1", parents=[parent])
        db.session.commit()
        child_id = child.id
    after = _scan(client, farm.codes[1])
    assert "Đã dùng cho lô: CP-2026-11A-T1" in after
    assert "đã thu hồi" not in after
    with app.app_context():
        recall_batch(child_id, reason="Bao bì bị rách hàng loạt", actor_id=None, actor_role="")
        db.session.commit()
    assert "CP-2026-11A-T1 (Cam Cao Phong loại 1) đã thu hồi" in _scan(client, farm.codes[1])


def test_a_visitor_without_session_gets_the_same_page_as_a_full_render(app, client):
    """The chrome (base.html) is cut once per locale for cookie-less visitors: it must be
    byte for byte what a full render gives (bots are not counted, so both see the same)."""
    farm = _farm(app)
    bot = {"User-Agent": "curl/8.5"}
    for query in ("", "?lang=en"):
        plain = app.test_client().get(f"/s/{farm.codes[1]}{query}", headers=bot)
        other = app.test_client()
        other.set_cookie("something", "1")
        full = other.get(f"/s/{farm.codes[1]}{query}", headers=bot)
        assert plain.status_code == full.status_code == 200
        assert plain.get_data(as_text=True) == full.get_data(as_text=True)


def test_the_scan_page_has_one_language_switch(app, client):
    farm = _farm(app)
    html = client.get(f"/s/{farm.codes[1]}", headers=PHONE).get_data(as_text=True)
    assert html.count(">English<") == 1
    assert "lang-switch" not in html  # the header's form is replaced by the page's link
    unknown = client.get("/s/ZZZZZZZZZZZZZ", headers=PHONE).get_data(as_text=True)
    assert unknown.count(">English<") == 1


def test_the_cache_is_bounded():
    cache = scan_cache.FragmentCache(max_entries=3)
    for n in range(10):
        cache.get_or_build(n, "v1", lambda n=n: f"lot {n}")
    assert len(cache) == 3
    assert cache.get_or_build(9, "v1", lambda: "rebuilt") == "lot 9"
    assert cache.get_or_build(9, "v2", lambda: "new version") == "new version"


def test_a_lot_part_outlives_midnight_when_nothing_on_it_changed(app, client, monkeypatch):
    """Every lot's part used to expire at midnight (the date was in its version): the whole
    country's scans rebuilt them at once. Only what the part shows may expire it."""
    farm = _farm(app)
    today = core.i18n.local_today()
    assert "OCOP 4 sao" in _scan(client, farm.codes[1])
    misses = _cache(app).misses
    monkeypatch.setattr(core.i18n, "local_today", lambda: today + timedelta(days=1))
    assert "OCOP 4 sao" in _scan(client, farm.codes[2])  # the certificate is still valid
    assert _cache(app).misses == misses
