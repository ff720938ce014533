"""GS1 Digital Link resolver: /01/<gtin>[/10/<lot>][/21/<serial>]."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select, update
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


def _dl_serial(app, farm, serial: int) -> str:
    with app.app_context():
        return db.session.scalar(
            select(Stamp.dl_serial).where(Stamp.run_id == farm.run_id, Stamp.serial == serial)
        )


def _legacy(app, farm) -> None:
    """The run as printed before random serials: its links carry the sequential serial."""
    with app.app_context():
        db.session.execute(update(Stamp).where(Stamp.run_id == farm.run_id).values(dl_serial=None))
        db.session.commit()


def test_an_unknown_gtin_is_404(client):
    response = client.get("/01/8930000000019")
    assert response.status_code == 404
    assert "không có trong hệ thống" in _text(response)


def test_the_gtin_level_redirects_to_the_product_page(app, client):
    _farm(app)
    for gtin in (GTIN13, GTIN14):
        response = client.get(f"/01/{gtin}")
        assert response.status_code == 303
        assert re.fullmatch(r"https://choque\.test/p/san-pham-\d+", response.location)
    data = client.get(f"/01/{GTIN14}", headers={"Accept": "application/ld+json"}).json
    assert data["@type"] == "Product" and data["gtin"] == GTIN14


def test_an_unknown_lot_redirects_303_to_the_gtin_level(app, client):
    _farm(app)
    response = client.get(f"/01/{GTIN13}/10/NO-SUCH-LOT")
    assert response.status_code == 303
    assert response.location == f"https://choque.test/01/{GTIN14}"


def test_an_unknown_serial_redirects_303_to_the_lot_level(app, client):
    _farm(app)
    response = client.get(f"/01/{GTIN14}/10/CP-2026-11A/21/999", query_string={"17": "271231"})
    assert response.status_code == 303
    assert response.location == f"https://choque.test/01/{GTIN14}/10/CP-2026-11A?17=271231"
    # A serial with an unknown lot goes straight to the GTIN level.
    assert client.get(f"/01/{GTIN14}/10/NOPE/21/1").location == f"https://choque.test/01/{GTIN14}"


def test_a_known_lot_redirects_to_its_lot_page(app, client):
    _farm(app)
    response = client.get(f"/01/{GTIN14}/10/CP-2026-11A")
    assert response.status_code == 303
    assert response.location == f"https://choque.test/t/01/{GTIN14}/10/CP-2026-11A"
    page = client.get(f"/t/01/{GTIN14}/10/CP-2026-11A")
    assert page.status_code == 200
    text = _text(page)
    assert "Thông tin lô hàng CP-2026-11A" in text and "Cam Cao Phong loại 1" in text
    assert "Tem chính hãng" not in text  # a lot page verifies no single item
    data = client.get(
        f"/01/{GTIN14}/10/CP-2026-11A", headers={"Accept": "application/ld+json"}
    ).json
    assert data["gs1:hasBatchLotNumber"] == "CP-2026-11A"
    assert data["@id"] == f"https://choque.test/01/{GTIN14}/10/CP-2026-11A"


def test_a_serial_leads_to_that_stamps_page_which_counts_it(app, client):
    farm = _farm(app)
    serial = _dl_serial(app, farm, 2)
    link = f"/01/{GTIN14}/10/CP-2026-11A/21/{serial}"
    response = client.get(link)
    assert response.status_code == 303
    assert response.location == f"https://choque.test/t{link}"
    page = client.get(f"/t{link}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    text = _text(page)
    assert "Tem chính hãng, đã kích hoạt" in text and "Đã quét 1 lần" in text
    html = page.get_data(as_text=True)
    assert f'rel="canonical" href="https://choque.test{link}"' in html
    # The page reached by the Digital Link never shows nor posts to the stamp's secret code.
    assert farm.codes[2] not in html and farm.codes[2][:4] + "-" not in html
    assert f'action="/t{link}"' in html
    # Exactly what the printed QR encodes (upper case) resolves too; the lot may be left out.
    upper = client.get(link, base_url="https://CHOQUE.TEST")
    assert upper.status_code == 303
    assert client.get(f"/01/{GTIN14}/21/{serial}").status_code == 303
    client.get(f"/t/01/{GTIN14}/21/{serial}")
    with app.app_context():
        stamp = db.session.scalar(select(Stamp).where(Stamp.code == farm.codes[2]))
        assert stamp.scan_count == 2
        assert {s.via for s in db.session.scalars(select(Scan))} == {"dl"}
    not_active = client.get(f"/t/01/{GTIN14}/10/CP-2026-11A/21/{_dl_serial(app, farm, 9)}")
    assert "Tem chưa được kích hoạt" in _text(not_active)


def test_sequential_serials_no_longer_find_new_stamps(app, client):
    farm = _farm(app)
    for guess in range(1, 11):
        response = client.get(f"/01/{GTIN14}/10/CP-2026-11A/21/{guess}")
        assert response.location == f"https://choque.test/01/{GTIN14}/10/CP-2026-11A"
    with app.app_context():
        assert db.session.scalar(select(func.sum(Stamp.scan_count))) == 0
    assert farm


def test_stamps_printed_with_sequential_serials_keep_working_with_their_lot(app, client):
    farm = _farm(app)
    _legacy(app, farm)
    link = f"/01/{GTIN14}/10/CP-2026-11A/21/2"
    assert client.get(link).location == f"https://choque.test/t{link}"
    assert "Tem chính hãng, đã kích hoạt" in _text(client.get(f"/t{link}"))
    # Leading zeros are not ours, and a sequential serial needs its lot.
    assert client.get(f"/01/{GTIN14}/10/CP-2026-11A/21/0002").status_code == 303
    assert client.get(f"/01/{GTIN14}/21/2").location == f"https://choque.test/01/{GTIN14}"


def test_a_lot_with_reserved_characters_resolves_percent_encoded(app, client):
    with app.app_context():
        farm = make_farm(2, gtin=GTIN13, bind_lot=True, lot_code="CP/26-A")
        stamps.activate_range(farm.producer_id, 1, 2, farm.batch_id)
        db.session.commit()
        from traceability.models import StampRun

        stamp = db.session.scalar(select(Stamp).where(Stamp.code == farm.codes[1]))
        run = db.session.get(StampRun, farm.run_id)
        url = stamps.stamp_url(run, 1, farm.codes[1], dl_serial=stamp.dl_serial)
    assert url == f"HTTPS://CHOQUE.TEST/01/{GTIN14}/10/CP%2F26-A/21/{stamp.dl_serial}"
    response = client.get(url.removeprefix("HTTPS://CHOQUE.TEST"))
    assert response.status_code == 303
    page = client.get(response.location.removeprefix("https://choque.test"))
    assert page.status_code == 200
    assert "Tem chính hãng" in _text(page)


def test_machines_get_json_ld_or_a_linkset_at_every_level(app, client):
    farm = _farm(app)
    serial = _dl_serial(app, farm, 1)
    stamp_ld = client.get(
        f"/01/{GTIN14}/10/CP-2026-11A/21/{serial}", headers={"Accept": "application/ld+json"}
    )
    assert stamp_ld.mimetype == "application/ld+json"
    assert stamp_ld.json["@type"] == "IndividualProduct"
    assert stamp_ld.json["serialNumber"] == serial
    assert farm.codes[1] not in stamp_ld.get_data(as_text=True)  # the code stays secret
    for path, levels in (
        (f"/01/{GTIN14}", 1),
        (f"/01/{GTIN14}/10/CP-2026-11A", 2),
        (f"/01/{GTIN14}/10/CP-2026-11A/21/{serial}", 3),
    ):
        response = client.get(path, headers={"Accept": "application/linkset+json"})
        assert response.status_code == 200, path
        assert response.mimetype == "application/linkset+json"
        entries = response.json["linkset"]
        assert len(entries) == levels
        assert entries[0]["anchor"] == "https://choque.test" + path
        assert entries[-1]["anchor"] == f"https://choque.test/01/{GTIN14}"
        assert "https://gs1.org/voc/pip" in entries[-1]
        assert farm.codes[1] not in response.get_data(as_text=True)
        for name in ("all", "linkset"):
            same = client.get(path, query_string={"linkType": name})
            assert same.json == response.json
    lot = client.get(f"/01/{GTIN14}/10/CP-2026-11A", headers={"Accept": "application/linkset+json"})
    assert lot.json["linkset"][0]["https://gs1.org/voc/epcis"][0]["href"].endswith(
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
    text = _text(client.get(f"/t/01/{GTIN14}/10/CP-2026-11A"))
    assert "LÔ HÀNG ĐÃ BỊ THU HỒI" in text and "Kiểm nghiệm không đạt" in text
    linkset = client.get(f"/01/{GTIN14}/10/CP-2026-11A", query_string={"linkType": "linkset"})
    assert "https://gs1.org/voc/recallStatus" in linkset.json["linkset"][0]


def test_other_lots_of_the_product_resolve_without_stamps(app, client):
    farm = _farm(app)
    with app.app_context():
        from cooperatives.models import Product

        make_batch(db.session.get(Product, farm.product_id), lot_code="CP-2027-01")
        db.session.commit()
    assert client.get(f"/01/{GTIN14}/10/CP-2027-01").status_code == 303
    assert client.get(f"/t/01/{GTIN14}/10/CP-2027-01").status_code == 200


# ----------------------------------------------------------------- one visibility rule


@pytest.mark.parametrize("status", ["draft"])
def test_a_product_that_p_hides_is_hidden_at_every_level_of_the_resolver(app, client, status):
    farm = _farm(app)
    serial = _dl_serial(app, farm, 2)
    with app.app_context():
        from cooperatives.models import Product

        product = db.session.get(Product, farm.product_id)
        product.status = status
        slug = product.slug
        db.session.commit()
    assert client.get(f"/p/{slug}").status_code == 404
    paths = (
        f"/01/{GTIN14}",
        f"/01/{GTIN14}/10/CP-2026-11A",
        f"/01/{GTIN14}/10/CP-2026-11A/21/{serial}",
        f"/t/01/{GTIN14}/10/CP-2026-11A",
        f"/t/01/{GTIN14}/10/CP-2026-11A/21/{serial}",
    )
    for path in paths:
        for accept in ("text/html", "application/ld+json", "application/linkset+json"):
            response = client.get(path, headers={"Accept": accept})
            assert response.status_code == 404, (path, accept)
            body = response.get_data(as_text=True)
            assert "Cam Cao Phong" not in body
        for link_type in ("linkset", "gs1:pip", "gs1:epcis"):
            response = client.get(path, query_string={"linkType": link_type})
            assert response.status_code == 404, (path, link_type)
    # The stamp's own page by its code shows nothing of the product either: as for a stamp
    # not yet activated for a lot, in every format, and its PIN confirms nothing.
    data = client.get(f"/s/{farm.codes[2]}", headers={"Accept": "application/ld+json"}).json
    assert "name" not in data and "isVariantOf" not in data
    assert {"propertyID": "stampVerdict", "value": "not_activated"}.items() <= {
        **data["additionalProperty"][0]
    }.items()
    page = _text(client.get(f"/s/{farm.codes[2]}"))
    assert "Tem chưa được kích hoạt" in page and "Cam Cao Phong" not in page
    with app.app_context():
        pin = stamps.stamp_pin(farm.run_id, 2)
    checked = _text(client.post(f"/s/{farm.codes[2]}/pin", data={"pin": pin}))
    assert "không xác thực được" in checked and "Cam Cao Phong" not in checked


# ------------------------------------------------------------------------- no 500, ever


def test_no_input_makes_the_resolver_or_its_pages_fail(app, client):
    """Seeded random links, compressed data and queries: answers are 2xx/3xx/4xx, never 500."""
    import random

    farm = _farm(app)
    serial = _dl_serial(app, farm, 2)
    rng = random.Random(14)
    pieces = [
        GTIN14,
        GTIN13,
        "01",
        "10",
        "21",
        "22",
        "CP-2026-11A",
        serial,
        "²²",
        "%FF",
        "%2F",
        "0" * 30,
        "٣",
        "",
        "..",
        "A" * 21,
        "%00",
        "€",
    ]
    queries = [
        {},
        {"linkType": "gs1:pip"},
        {"linkType": "²"},
        {"linkType": "gs1:" + "x" * 300},
        {"17": "²²²²²²"},
        {"11": "991399"},
        {"linkType": "linkset", "foo": "bar"},
    ]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for _ in range(80):
        path = "/".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        data = "".join(rng.choice(alphabet) for _ in range(rng.randint(8, 60)))
        query = rng.choice(queries)
        for url in (f"/01/{path}", f"/t/01/{path}", f"/{data}", f"/A{data}"):
            for accept in ("text/html", "application/linkset+json", "application/ld+json"):
                response = client.get(url, query_string=query, headers={"Accept": accept})
                assert response.status_code < 500, (url, query, accept)
        assert client.post(f"/t/01/{path}", data={"pin": "²²²²²²"}).status_code < 500


def test_an_archived_products_stamps_keep_working(app, client):
    """Printed stamps live for years: archiving a product stops selling it, not its stamps."""
    farm = _farm(app)
    with app.app_context():
        from cooperatives.models import Product

        db.session.get(Product, farm.product_id).status = "archived"
        db.session.commit()
    assert client.get(f"/01/{GTIN14}/10/CP-2026-11A").status_code in (200, 303)
    page = _text(client.get(f"/s/{farm.codes[2]}"))
    assert "Cam Cao Phong" in page and "Tem chưa được kích hoạt" not in page
