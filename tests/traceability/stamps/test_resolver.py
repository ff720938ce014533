"""GS1 Digital Link resolver: /01/<gtin>[/10/<lot>][/21/<serial>]."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from core.db import db
from tests.factories import make_batch
from tests.traceability.stamps.test_stamps_support import make_farm
from traceability import stamps
from traceability.models import Scan, Stamp
from traceability.stamps import resolver

GTIN13 = "8931234567897"
GTIN14 = "08931234567897"


def _farm(app, lot_code="CP-2026-11A"):
    with app.app_context():
        farm = make_farm(10, gtin=GTIN13, bind_lot=True, lot_code=lot_code, pin=True)
        stamps.activate_range(farm.producer_id, 1, 6, farm.batch_id)
        db.session.commit()
    return farm


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


# ------------------------------------------------------------------------------- parsing


def test_links_are_parsed_normalised_and_percent_decoded():
    link = resolver.parse("/01/8931234567897/10/CP%2F26-A/21/123", MultiDict())
    assert (link.gtin14, link.lot, link.serial) == (GTIN14, "CP/26-A", "123")
    assert resolver.parse("/01/96385074", MultiDict()).gtin14 == "00000096385074"  # GTIN-8
    assert resolver.parse("/01/036000291452", MultiDict()).gtin14 == "00036000291452"  # GTIN-12
    dated = resolver.parse("/01/08931234567897", MultiDict({"17": "271200", "11": "261110"}))
    assert dated.expiry == date(2027, 12, 31)  # DD = 00: the end of the month
    assert dated.production == date(2026, 11, 10)


@pytest.mark.parametrize(
    "path,query",
    [
        ("/01/8931234567890", {}),  # wrong check digit
        ("/01/89312345678", {}),  # 11 digits
        ("/01/893123456789A", {}),
        ("/01/08931234567897/10", {}),  # AI without a value
        ("/01/08931234567897/21/1/10/A", {}),  # out of order
        ("/01/08931234567897/10/A/10/B", {}),  # repeated
        ("/01/08931234567897/99/A", {}),  # unsupported AI
        ("/01/08931234567897/10/" + "A" * 21, {}),  # lot longer than 20
        ("/01/08931234567897/10/%ZZ%C3", {}),  # bad percent-encoding
        ("/01/08931234567897/10/%E2%82%AC", {}),  # € is not in the GS1 character set
        ("/01/08931234567897/10/L%C3%B4", {}),  # nor is ô
        ("/01/08931234567897", {"17": "271332"}),  # month 13
        ("/01/08931234567897", {"17": "2712"}),
        ("/01/08931234567897", {"11": "260230"}),  # 30 February
    ],
)
def test_malformed_links_answer_400_with_a_clear_message(client, path, query):
    response = client.get(path, query_string=query)
    assert response.status_code == 400
    assert len(_text(response)) > 20
    problem = client.get(path, query_string=query, headers={"Accept": "application/json"})
    assert problem.status_code == 400
    assert problem.mimetype == "application/problem+json"
    assert problem.json["title"]


# ------------------------------------------------------------------------------ resolving


def test_an_unknown_gtin_is_404(client):
    response = client.get("/01/8930000000019")
    assert response.status_code == 404
    assert "không có trong hệ thống" in _text(response)


def test_the_gtin_level_redirects_to_the_product_page(app, client):
    farm = _farm(app)
    for gtin in (GTIN13, GTIN14):
        response = client.get(f"/01/{gtin}")
        assert response.status_code == 303
        assert re.fullmatch(r"/p/san-pham-\d+", response.location)
    data = client.get(f"/01/{GTIN14}", headers={"Accept": "application/ld+json"}).json
    assert data["@type"] == "Product" and data["gtin"] == GTIN14
    assert farm  # the product exists through the farm


def test_an_unknown_lot_redirects_303_to_the_gtin_level(app, client):
    _farm(app)
    response = client.get(f"/01/{GTIN13}/10/NO-SUCH-LOT")
    assert response.status_code == 303
    assert response.location == f"/01/{GTIN14}"


def test_an_unknown_serial_redirects_303_to_the_lot_level(app, client):
    _farm(app)
    response = client.get(f"/01/{GTIN14}/10/CP-2026-11A/21/999")
    assert response.status_code == 303
    assert response.location == f"/01/{GTIN14}/10/CP-2026-11A"
    # A serial with an unknown lot goes straight to the GTIN level; leading zeros are not ours.
    assert client.get(f"/01/{GTIN14}/10/NOPE/21/1").location == f"/01/{GTIN14}"
    assert client.get(f"/01/{GTIN14}/10/CP-2026-11A/21/0001").status_code == 303


def test_a_known_lot_shows_the_lot_page(app, client):
    _farm(app)
    response = client.get(f"/01/{GTIN14}/10/CP-2026-11A")
    assert response.status_code == 200
    text = _text(response)
    assert "Thông tin lô hàng CP-2026-11A" in text and "Cam Cao Phong loại 1" in text
    assert "Tem chính hãng" not in text  # a lot page verifies no single item
    data = client.get(
        f"/01/{GTIN14}/10/CP-2026-11A", headers={"Accept": "application/ld+json"}
    ).json
    assert data["gs1:hasBatchLotNumber"] == "CP-2026-11A"
    assert data["@id"] == f"https://choque.test/01/{GTIN14}/10/CP-2026-11A"


def test_a_serial_shows_that_stamps_scan_page_and_counts_it(app, client):
    farm = _farm(app)
    response = client.get(f"/01/{GTIN14}/10/CP-2026-11A/21/2")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    text = _text(response)
    assert "Tem chính hãng, đã kích hoạt" in text and "Đã quét 1 lần" in text
    html = response.get_data(as_text=True)
    assert f'rel="canonical" href="https://choque.test/01/{GTIN14}/10/CP-2026-11A/21/2"' in html
    # Exactly what the printed QR encodes (upper case) resolves too.
    upper = client.get(f"/01/{GTIN14}/10/CP-2026-11A/21/2", base_url="https://CHOQUE.TEST")
    assert upper.status_code == 200
    with app.app_context():
        stamp = db.session.scalar(select(Stamp).where(Stamp.code == farm.codes[2]))
        assert stamp.scan_count == 2
        assert {s.via for s in db.session.scalars(select(Scan))} == {"dl"}
    not_active = client.get(f"/01/{GTIN14}/10/CP-2026-11A/21/9")
    assert "Tem chưa được kích hoạt" in _text(not_active)


def test_a_lot_with_reserved_characters_resolves_percent_encoded(app, client):
    with app.app_context():
        farm = make_farm(2, gtin=GTIN13, bind_lot=True, lot_code="CP/26-A")
        stamps.activate_range(farm.producer_id, 1, 2, farm.batch_id)
        db.session.commit()
        from traceability.models import StampRun

        url = stamps.stamp_url(db.session.get(StampRun, farm.run_id), 1, farm.codes[1])
    assert url == f"HTTPS://CHOQUE.TEST/01/{GTIN14}/10/CP%2F26-A/21/1"  # still alphanumeric
    response = client.get(url.removeprefix("HTTPS://CHOQUE.TEST"))
    assert response.status_code == 200
    assert "Tem chính hãng" in _text(response)


def test_machines_get_json_ld_or_a_linkset_at_every_level(app, client):
    farm = _farm(app)
    stamp_ld = client.get(
        f"/01/{GTIN14}/10/CP-2026-11A/21/1", headers={"Accept": "application/ld+json"}
    )
    assert stamp_ld.mimetype == "application/ld+json"
    assert stamp_ld.json["@type"] == "IndividualProduct"
    assert stamp_ld.json["serialNumber"] == "1"
    for path in (
        f"/01/{GTIN14}",
        f"/01/{GTIN14}/10/CP-2026-11A",
        f"/01/{GTIN14}/10/CP-2026-11A/21/1",
    ):
        response = client.get(path, headers={"Accept": "application/linkset+json"})
        assert response.status_code == 200, path
        assert response.mimetype == "application/linkset+json"
        (entry,) = response.json["linkset"]
        assert entry["anchor"].startswith(f"https://choque.test/01/{GTIN14}")
        assert "https://gs1.org/voc/pip" in entry
        same = client.get(path, query_string={"linkType": "all"})
        assert same.json == response.json
    lot = client.get(f"/01/{GTIN14}/10/CP-2026-11A", headers={"Accept": "application/linkset+json"})
    (entry,) = lot.json["linkset"]
    assert entry["https://gs1.org/voc/epcis"][0]["href"].endswith(
        f"/api/v1/batches/{farm.batch_id}/epcis"
    )


def test_a_recalled_lot_shows_its_banner_on_the_lot_page(app, client):
    farm = _farm(app)
    from traceability.lots.recalls import recall_batch

    with app.app_context():
        recall_batch(
            farm.batch_id, reason="Kiểm nghiệm không đạt", actor_id=None, actor_role="manager"
        )
        db.session.commit()
    text = _text(client.get(f"/01/{GTIN14}/10/CP-2026-11A"))
    assert "LÔ HÀNG ĐÃ BỊ THU HỒI" in text and "Kiểm nghiệm không đạt" in text


def test_other_lots_of_the_product_resolve_without_stamps(app, client):
    farm = _farm(app)
    with app.app_context():
        from cooperatives.models import Product

        make_batch(db.session.get(Product, farm.product_id), lot_code="CP-2027-01")
        db.session.commit()
    assert client.get(f"/01/{GTIN14}/10/CP-2027-01").status_code == 200
