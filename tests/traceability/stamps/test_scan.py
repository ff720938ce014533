"""The consumer scan page: verdict first, the lot's story only for genuine stamps, every scan
counted, copied stamps flagged."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.db import db, unit_of_work, utcnow
from core.i18n import local_today
from tests.traceability.stamps.test_stamps_support import make_farm
from traceability import stamps
from traceability.lots.recalls import recall_batch
from traceability.models import Scan, Stamp
from traceability.stamps import scans
from traceability.stamps.reading import ScanContext, read_stamp


def _activated(app, quantity=10, active=(1, 5), void=(), **farm_options):
    with app.app_context():
        farm = make_farm(quantity, **farm_options)
        stamps.activate_range(farm.producer_id, *active, farm.batch_id)
        for serial in void:
            stamps.void_range(farm.producer_id, serial, serial, "tem bị rách")
        db.session.commit()
    return farm


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_a_genuine_stamp_shows_the_verdict_then_the_lots_story(app, client):
    farm = _activated(app)
    response = client.get(f"/s/{farm.codes[2]}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    text = _text(response)
    assert text.index("Tem chính hãng, đã kích hoạt") < text.index("Cam Cao Phong loại 1")
    for fact in (
        "HTX Cam Cao Phong",
        "Xóm Đồi, Xã Cao Phong, Phú Thọ",
        "OCOP 4 sao",
        "CP-2026-11A",
        "10/11/2026",  # harvest date
        "VietGAP",
        "10/12/2026",  # best before
        "Hành trình",
        "Thu hoạch",
        "Đã quét 1 lần, lần đầu lúc",
    ):
        assert fact in text, fact
    html = response.get_data(as_text=True)
    epcis = f"/api/v1/batches/{farm.batch_id}/epcis"
    assert f'<link rel="alternate" type="application/ld+json" href="{epcis}">' in html
    verify = f"/api/v1/batches/{farm.batch_id}/verify"
    assert f'<link rel="alternate" type="application/json" href="{verify}"' in html  # machines
    for jargon in ("EPCIS", "chuỗi", "<code>"):  # shoppers read words, not hashes
        assert jargon not in text + html.split("</head>", 1)[1], jargon
    assert "niêm phong" in text
    assert re.search(r"<h1 class=\"verdict-title\">✓ Tem chính hãng", html)
    assert re.search(
        r'<a class="tap" href="/c/[a-z0-9-]+"><strong>HTX Cam Cao Phong', html
    )  # store
    assert 'href="/p/san-pham-' in html  # buy
    assert "<script" not in html  # works without JavaScript


def test_ocop_stars_show_only_while_the_certificate_is_valid(app, client):
    farm = _activated(app, certificate=False)
    text = _text(client.get(f"/s/{farm.codes[1]}"))
    assert "OCOP" not in text.replace("sản phẩm OCOP có nguồn gốc", "")
    assert "★" not in text


@pytest.mark.parametrize(
    "serial,verdict",
    [(8, "Tem chưa được kích hoạt"), (3, "Tem đã bị hủy")],
)
def test_unactivated_and_void_stamps_never_show_product_data(app, client, serial, verdict):
    farm = _activated(app, void=(3,))
    response = client.get(f"/s/{farm.codes[serial]}")
    assert response.status_code == 200
    text = _text(response)
    assert verdict in text
    for secret in ("Cam Cao Phong loại 1", "CP-2026-11A", "VietGAP", "OCOP 4", "Hành trình", "Mua"):
        assert secret not in text
    assert "application/ld+json" not in response.get_data(as_text=True)
    data = client.get(f"/s/{farm.codes[serial]}", headers={"Accept": "application/ld+json"}).json
    assert "name" not in data and "gtin" not in data
    assert data["additionalProperty"][0]["value"] in ("not_activated", "void")


def test_a_recalled_lot_shows_the_banner_at_once_with_reason_and_date(app, client):
    farm = _activated(app)
    client.get(f"/s/{farm.codes[1]}")  # seen before the recall
    with app.app_context():
        recall_batch(
            farm.batch_id,
            reason="Dư lượng thuốc BVTV vượt ngưỡng",
            actor_id=None,
            actor_role="manager",
        )
        db.session.commit()
    response = client.get(f"/s/{farm.codes[1]}")
    text = _text(response)
    assert "LÔ HÀNG ĐÃ BỊ THU HỒI" in text
    assert text.index("LÔ HÀNG ĐÃ BỊ THU HỒI") < text.index("Cam Cao Phong loại 1")
    assert "Dư lượng thuốc BVTV vượt ngưỡng" in text
    assert "Tem chính hãng, đã kích hoạt" not in text
    assert re.search(r"Ngày thu hồi: \d\d/\d\d/\d{4}", text)
    data = client.get(f"/s/{farm.codes[1]}", headers={"Accept": "application/ld+json"}).json
    assert data["additionalProperty"][0]["value"] == "recalled"


def test_an_unknown_code_says_it_is_not_in_our_system(client):
    response = client.get("/s/ZZZZZZZZZZZZZ")
    assert response.status_code == 404
    assert "Mã không có trong hệ thống" in _text(response)
    assert client.get("/s/not-a-code!").status_code == 404
    assert client.get("/s/" + "A" * 300).status_code == 404
    data = client.get("/s/ZZZZZZZZZZZZZ", headers={"Accept": "application/json"})
    assert data.status_code == 404
    assert data.json["additionalProperty"][0]["value"] == "unknown"


def test_codes_are_found_whatever_their_case_or_grouping(app, client):
    farm = _activated(app)
    code = farm.codes[2]
    grouped = stamps.grouped_code(code).lower()
    for path in (f"/s/{code.lower()}", f"/s/{grouped}", f"/S/{code}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Tem chính hãng" in _text(response)
    found = client.get(f"/s?code={grouped}")
    assert found.status_code == 303 and found.location.endswith(f"/s/{code}")


def test_every_scan_is_counted_with_coarse_client_facts_only(app, client):
    farm = _activated(app)
    ua = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36"
    for address in ("203.0.113.57", "203.0.113.99", "2001:db8:abcd:12::1"):
        client.get(
            f"/s/{farm.codes[1]}",
            environ_base={"REMOTE_ADDR": address},
            headers={"User-Agent": ua},
        )
    text = _text(client.get(f"/s/{farm.codes[1]}"))
    assert "Đã quét 4 lần, lần đầu lúc" in text
    with app.app_context():
        stamp = db.session.scalar(select(Stamp).where(Stamp.code == farm.codes[1]))
        assert stamp.scan_count == 4
        assert stamp.first_scanned_at <= stamp.last_scanned_at
        rows = db.session.scalars(select(Scan).where(Scan.stamp_id == stamp.id)).all()
        networks = sorted(r.network for r in rows)
        assert networks == [
            "127.0.0.0/24",
            "2001:db8:abcd::/48",
            "203.0.113.0/24",
            "203.0.113.0/24",
        ]
        assert {r.client for r in rows} >= {"Chrome · Android"}
        stored = " ".join(f"{r.network} {r.client}" for r in rows)
        assert "203.0.113.57" not in stored and "AppleWebKit" not in stored
    # Machines reading JSON are not scans.
    client.get(f"/s/{farm.codes[1]}", headers={"Accept": "application/ld+json"})
    with app.app_context():
        assert db.session.scalar(select(Stamp.scan_count).where(Stamp.code == farm.codes[1])) == 4


def test_link_previews_and_head_requests_are_not_scans(app, client):
    farm = _activated(app)
    preview = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
    assert client.get(f"/s/{farm.codes[1]}", headers={"User-Agent": preview}).status_code == 200
    assert client.head(f"/s/{farm.codes[1]}").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Stamp.scan_count).where(Stamp.code == farm.codes[1])) == 0


def test_new_and_void_stamps_are_counted_too(app, client):
    farm = _activated(app, void=(3,))
    client.get(f"/s/{farm.codes[3]}")
    client.get(f"/s/{farm.codes[9]}")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Scan)) == 2


def test_a_burst_from_one_address_never_makes_a_genuine_stamp_say_copied(app, client):
    farm = _activated(app)
    threshold = app.config["SCAN_COPY_WARNING_THRESHOLD"]
    for _ in range(105):  # the attack of the report: 105 requests in a few seconds
        client.get(f"/s/{farm.codes[1]}", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    with app.app_context():
        stamp_id = db.session.scalar(select(Stamp.id).where(Stamp.code == farm.codes[1]))
        scanner = ScanContext("203.0.113.0/24", "Chrome")
        for _ in range(threshold * 5):  # and more from one network, another day
            with unit_of_work():
                read_stamp(today=local_today(), via="code", stamp_id=stamp_id, scan=scanner)
    buyer = _text(client.get(f"/s/{farm.codes[1]}", environ_base={"REMOTE_ADDR": "192.0.2.7"}))
    assert "Tem chính hãng, đã kích hoạt" in buyer
    assert "có thể bị sao chép" not in buyer
    data = client.get(f"/s/{farm.codes[1]}", headers={"Accept": "application/ld+json"}).json
    warning = [p for p in data["additionalProperty"] if p["propertyID"] == "copyWarning"]
    assert warning[0]["value"] is False


def _sightings(app, code: str, networks: int, days: int, per_day: int = 1) -> None:
    """Scans of one stamp from `networks` networks on each of `days` recent days."""
    start = utcnow() - timedelta(days=days)
    with app.app_context():
        stamp = db.session.scalar(select(Stamp).where(Stamp.code == code))
        at = start
        for day in range(days):
            for n in range(networks):
                for _ in range(per_day):
                    at = start + timedelta(days=day, minutes=n)
                    db.session.add(
                        Scan(stamp_id=stamp.id, scanned_at=at, network=f"198.51.{n}.0/24")
                    )
        stamp.scan_count = days * networks * per_day
        stamp.first_scanned_at, stamp.last_scanned_at = start, at
        db.session.commit()


def test_many_independent_sightings_warn_it_may_be_copied(app, client):
    farm = _activated(app)
    threshold = app.config["SCAN_COPY_WARNING_THRESHOLD"]
    # Five networks on five days: 25 sightings past the threshold of 20, within a week.
    _sightings(app, farm.codes[1], networks=5, days=5)
    assert threshold < 25
    assert "tem này có thể bị sao chép" in _text(client.get(f"/s/{farm.codes[1]}"))


@pytest.mark.parametrize(
    "networks,days,per_day",
    [
        (3, 10, 3),  # four places with the viewer's, however often, for ten days
        (5, 1, 30),  # five places, but one burst each on one day: 5 sightings
        (5, 3, 10),  # 15 sightings in 3 days: not yet past 20
    ],
)
def test_too_little_independent_evidence_does_not_warn(app, client, networks, days, per_day):
    farm = _activated(app)
    _sightings(app, farm.codes[1], networks=networks, days=days, per_day=per_day)
    assert "có thể bị sao chép" not in _text(client.get(f"/s/{farm.codes[1]}"))


def test_a_stamp_seen_on_many_networks_over_weeks_warns_too(app, client):
    farm = _activated(app)
    long_ago = utcnow() - timedelta(days=60)
    with app.app_context():
        stamp = db.session.scalar(select(Stamp).where(Stamp.code == farm.codes[1]))
        for i in range(5):
            db.session.add(
                Scan(
                    stamp_id=stamp.id,
                    scanned_at=long_ago + timedelta(days=10 * i),
                    network=f"198.51.{i}.0/24",
                    client="Zalo",
                )
            )
        stamp.scan_count, stamp.first_scanned_at = 5, long_ago
        stamp.last_scanned_at = long_ago + timedelta(days=40)
        db.session.commit()
    text = _text(client.get(f"/s/{farm.codes[1]}"))
    assert "Đã quét 6 lần" in text
    assert "tem này có thể bị sao chép" in text


def test_a_bot_cannot_inflate_a_stamps_count(app, client):
    farm = _activated(app)
    for _ in range(125):
        assert client.get(f"/s/{farm.codes[1]}").status_code == 200  # still shown
    with app.app_context():
        count = db.session.scalar(select(Stamp.scan_count).where(Stamp.code == farm.codes[1]))
    assert count == 120
    other = client.get(f"/s/{farm.codes[1]}", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert "Đã quét 121 lần" in _text(other)


def test_the_first_view_is_under_60_kb_of_html_and_css(app, client):
    farm = _activated(app, pin=True)
    response = client.get(f"/s/{farm.codes[1]}")
    html = response.get_data()
    css = re.findall(r'<link rel="stylesheet" href="(/static/[^"?]+)', html.decode())
    assert any(re.fullmatch(r"/static/css/scan\.[0-9a-f]{10}\.css", path) for path in css)
    total = len(html) + sum(len(client.get(path).get_data()) for path in css)
    assert total < 60_000, total
    scripts = re.findall(r"<script[^>]*>", html.decode())
    assert all("application/ld+json" in s for s in scripts)


def test_photos_are_lazy_with_their_size(app, client):
    import io

    from PIL import Image

    from cooperatives.models import ProductImage
    from core.images import store_image

    farm = _activated(app)
    with app.app_context():
        buffer = io.BytesIO()
        Image.new("RGB", (800, 600), (200, 120, 20)).save(buffer, "JPEG")
        buffer.seek(0)
        stored = store_image(buffer)
        db.session.add(
            ProductImage(
                product_id=farm.product_id,
                key=stored.key,
                width=stored.width,
                height=stored.height,
                alt="Cam chín",
            )
        )
        db.session.commit()
    html = client.get(f"/s/{farm.codes[1]}").get_data(as_text=True)
    img = re.search(r"<img [^>]+>", html).group(0)
    assert 'loading="lazy"' in img and 'width="480"' in img and 'height="360"' in img


def test_english_switch(app, client):
    farm = _activated(app)
    html = client.get(f"/s/{farm.codes[1]}?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert f'href="/s/{farm.codes[1]}?lang=vi"' in html


def test_machines_get_json_ld_and_linksets(app, client):
    farm = _activated(app, gtin="8931234567897")
    response = client.get(f"/s/{farm.codes[1]}", headers={"Accept": "application/ld+json"})
    assert response.mimetype == "application/ld+json"
    data = json.loads(response.data)
    assert data["@type"] == "IndividualProduct"
    assert data["serialNumber"] == "1"
    assert data["gtin"] == "08931234567897"
    assert data["gs1:hasBatchLotNumber"] == "CP-2026-11A"
    assert data["subjectOf"]["url"].endswith(f"/api/v1/batches/{farm.batch_id}/epcis")
    assert data["hasCertification"]["name"] == "OCOP 4★"
    linkset = client.get(f"/s/{farm.codes[1]}", headers={"Accept": "application/linkset+json"})
    assert linkset.mimetype == "application/linkset+json"
    (entry,) = linkset.json["linkset"]
    assert entry["anchor"] == f"https://choque.test/s/{farm.codes[1]}"
    assert entry["https://gs1.org/voc/epcis"][0]["type"] == "application/ld+json"
    assert entry["https://gs1.org/voc/pip"][0]["href"].startswith("https://choque.test/p/")


@pytest.mark.postgres_only
def test_concurrent_scans_are_all_counted(app):
    farm = _activated(app)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def scan(n: int) -> None:
        client = app.test_client()
        try:
            barrier.wait()
            for _ in range(15):
                response = client.get(
                    f"/s/{farm.codes[1]}", environ_base={"REMOTE_ADDR": f"10.0.{n}.1"}
                )
                assert response.status_code == 200
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scan, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        stamp = db.session.scalar(select(Stamp).where(Stamp.code == farm.codes[1]))
        assert stamp.scan_count == 60
        assert (
            db.session.scalar(
                select(func.count()).select_from(Scan).where(Scan.stamp_id == stamp.id)
            )
            == 60
        )


def test_coarse_client_facts():
    assert scans.coarse_network("203.0.113.57") == "203.0.113.0/24"
    assert scans.coarse_network("::ffff:203.0.113.57") == "203.0.113.0/24"
    assert scans.coarse_network("2001:db8:abcd:12::1") == "2001:db8:abcd::/48"
    assert scans.coarse_network("not an ip") == ""
    assert scans.coarse_network(None) == ""
    zalo = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Zalo iOS/500"
    assert scans.browser_family(zalo) == "Zalo · iOS"
    assert scans.browser_family("curl/8.5") == "bot"
    assert scans.browser_family("") == ""
