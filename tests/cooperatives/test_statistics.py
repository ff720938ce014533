"""Statistics pages (issue 13): who sees what, the figures, the exports, the period filter."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from core.db import db, utcnow
from tests.conftest import login
from tests.factories import (
    add_member,
    make_certificate,
    make_council_member,
    make_producer,
    make_product,
    make_user,
)
from traceability.models import Stamp

PHU_THO, THANH_HOA, CAN_THO = 25, 38, 92


def _ward_of(province_code: int) -> int:
    from core.places import wards_of

    return wards_of(province_code)[0].code


def _certified(producer, stars_totals):
    """One product per entry, with a valid certificate of that score."""
    for total in stars_totals:
        make_certificate(make_product(producer), total=total)


@pytest.fixture
def world(app):
    """Two cooperatives in Phú Thọ and Thanh Hóa with certificates, a council member per
    province, the central council, an admin, and a plain member."""
    with app.app_context():
        lan = make_user(name="Bà Lan Quản Lý", phone="+84912345001")
        tuan = make_user(name="Anh Tuấn Quản Lý", phone="+84912345002")
        cam = make_producer(
            name="HTX Cam Cao Phong", manager=lan, phone="+84987654321", email="htx@cam.vn"
        )
        rau = make_producer(
            name="HTX Rau Hoằng Hóa",
            province_code=THANH_HOA,
            ward_code=_ward_of(THANH_HOA),
            manager=tuan,
            kind="hkd",
        )
        _certified(cam, ["92", "80", "81", "60"])  # 5★, 4★, 4★, 3★
        _certified(rau, ["95", "95", "72"])  # 5★, 5★, 4★
        old = make_product(cam)
        make_certificate(old, total="85", decision_date=date.today() - timedelta(days=4 * 365))
        revoked = make_product(rau)
        make_certificate(revoked, total="91", status="revoked")
        member = make_user(name="Thành viên")
        add_member(member, cam, "member")
        hung = make_council_member("province", PHU_THO)
        other = make_council_member("province", THANH_HOA)
        central = make_council_member("central", None)
        admin = make_user(name="Quản trị", admin=True)
        db.session.commit()
        return {
            "lan": lan.id,
            "tuan": tuan.id,
            "cam": cam.id,
            "rau": rau.id,
            "member": member.id,
            "hung": hung.id,
            "other": other.id,
            "central": central.id,
            "admin": admin.id,
        }


def _table(html: str, key: str) -> dict[str, list[str]]:
    """{row label: [cell values]} of the table with id table-<key> (data-value of each cell)."""
    match = re.search(rf'<table id="table-{key}">(.*?)</table>', html, re.S)
    assert match, f"no table {key}"
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", match.group(1), re.S):
        head = re.search(r'<th scope="row">(.*?)</th>', row, re.S)
        if not head:
            continue
        label = re.sub(r"<[^>]+>", "", head.group(1)).strip()
        rows[label] = re.findall(r'data-value="([^"]*)"', row)
    return rows


def _csv_blocks(body: str) -> dict[str, list[list[str]]]:
    blocks: dict[str, list[list[str]]] = {}
    current = None
    for row in csv.reader(io.StringIO(body.lstrip("\ufeff"))):
        if not row:
            current = None
            continue
        if current is None:
            current = row[0]
            blocks[current] = []
        else:
            blocks[current].append(row)
    return blocks


# --------------------------------------------------------------------------- open data


def test_open_data_counts_certified_products_by_province_and_stars(client, world):
    html = client.get("/stats").get_data(as_text=True)
    by_province = _table(html, "ocop_map")
    assert by_province["Phú Thọ"] == ["1", "2", "1", "4"]  # the 4-year-old certificate lapsed
    assert by_province["Thanh Hóa"] == ["2", "1", "0", "3"]  # the revoked one is not counted
    stars = _table(html, "ocop_stars")
    assert stars["5★"] == ["3"] and stars["Tổng"] == ["7"]
    # 34 tiles, one per province, each carrying its code
    assert len(re.findall(r'<a href="[^"]*" class="tile[^"]*" data-province="\d+"', html)) == 34


def test_clicking_a_province_on_the_map_filters_the_page_to_it(client, world):
    html = client.get("/stats?map=5").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)" class="tile" data-province="38"', html).group(1)
    assert "map=5" in link and "province=38" in link
    page = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert _table(page, "ocop_stars")["5★"] == ["2"]
    assert "Đang xem: Thanh Hóa" in page
    assert _table(page, "ocop_wards")  # by commune once a province is chosen


def test_open_data_csv_holds_exactly_the_numbers_shown(client, world):
    html = client.get("/stats?map=4&province=25").get_data(as_text=True)
    response = client.get("/stats.csv?map=4&province=25")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    blocks = _csv_blocks(response.get_data(as_text=True))
    shown = _table(html, "ocop_map")
    exported = next(
        rows
        for title, rows in blocks.items()
        if title.startswith("Sản phẩm OCOP còn hiệu lực theo tỉnh")
    )
    exported_rows = {row[0]: row[1:] for row in exported[1:]}
    assert exported_rows == shown
    stars_title = next(t for t in blocks if t.startswith("Sản phẩm OCOP còn hiệu lực theo số sao"))
    assert {r[0]: r[1:] for r in blocks[stars_title][1:]} == _table(html, "ocop_stars")


def test_open_data_shows_no_personal_data(client, world, app):
    for path in ("/stats", "/stats.csv", "/stats?province=25", "/stats.csv?province=38"):
        body = client.get(path).get_data(as_text=True)
        for secret in ("Bà Lan", "Anh Tuấn", "0912345001", "+8491234", "987654321", "htx@cam.vn"):
            assert secret not in body, (path, secret)
        assert "HTX Cam Cao Phong" not in body  # counts only, no producer rows


def test_open_data_xlsx_has_the_same_tables(client, world):
    response = client.get("/stats.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}
    province_sheet = sheets["ocop_map"]
    assert province_sheet[0][0].startswith("Sản phẩm OCOP còn hiệu lực theo tỉnh")
    rows = {r[0]: r[1:] for r in province_sheet[2:]}
    assert rows["Phú Thọ"] == [1, 2, 1, 4]


@pytest.mark.parametrize("args", ["province=99", "province=abc", "province=%D9%A2%D9%A5"])
def test_unknown_provinces_are_404_not_500(client, args):
    assert client.get(f"/stats?{args}").status_code == 404


# --------------------------------------------------------------------------- who sees what


def _signed_in_rules(app) -> list[str]:
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/statistics"):
            rules.append(rule.rule)
    return sorted(rules)


def _paths(app) -> list[str]:
    """Every statistics address, with every section filled in."""
    from core import statistics

    with app.test_request_context():
        keys = [s.key for s in statistics.sections()]
    out = []
    for rule in _signed_in_rules(app):
        if "<key>" in rule:
            out += [rule.replace("<key>", key) for key in keys]
        else:
            out.append(rule)
    return out


def test_every_statistics_route_is_closed_to_outsiders(app, client, world):
    paths = _paths(app)
    assert "/statistics/ocop.csv" in paths and "/statistics/traceability.xlsx" in paths
    for path in paths:
        response = client.get(path)
        assert response.status_code in (302, 401), path  # anonymous: sign in first
    login(client, world["member"])  # a member (not a manager) sees no statistics
    for path in paths:
        assert client.get(path).status_code == 404, path


def test_a_manager_sees_only_their_own_cooperative_on_every_route(app, client, world):
    paths = [p for p in _paths(app) if p != "/statistics"]
    login(client, world["tuan"])  # manager of HTX Rau Hoằng Hóa (Thanh Hóa)
    for path in paths:
        # Another cooperative's id, or a province that is not theirs: 404 on every route.
        assert client.get(f"{path}?producer={world['cam']}").status_code == 404, path
        assert client.get(f"{path}?province={PHU_THO}").status_code == 404, path
        own = client.get(path)
        assert own.status_code == 200, path
        if path.endswith(".xlsx"):
            continue
        body = own.get_data(as_text=True)
        assert "Cam Cao Phong" not in body, path
    html = client.get("/statistics/ocop").get_data(as_text=True)
    map_rows = _table(html, "ocop_map")
    assert list(map_rows) == ["Thanh Hóa"]  # their province only, their figures only
    assert map_rows["Thanh Hóa"] == ["2", "1", "0", "3"]
    producers = _table(
        client.get("/statistics/participation").get_data(as_text=True), "producers_kind"
    )
    assert sum(int(v[0]) for v in producers.values()) == 1


def test_a_provincial_council_member_sees_their_province_only(client, world):
    login(client, world["hung"])
    html = client.get("/statistics/ocop").get_data(as_text=True)
    assert list(_table(html, "ocop_map")) == ["Phú Thọ"]
    assert _table(html, "ocop_stars")["Tổng"] == ["4"]
    assert client.get(f"/statistics/ocop?province={THANH_HOA}").status_code == 404
    assert client.get(f"/statistics/ocop.csv?province={THANH_HOA}").status_code == 404
    assert client.get(f"/statistics/ocop?producer={world['cam']}").status_code == 404


def test_the_central_council_and_admins_see_the_whole_country(client, world):
    for who in ("central", "admin"):
        login(client, world[who])
        html = client.get("/statistics/ocop").get_data(as_text=True)
        rows = _table(html, "ocop_map")
        assert len(rows) == 34
        assert rows["Thanh Hóa"][3] == "3" and rows["Phú Thọ"][3] == "4"


def test_the_index_lists_sections_and_the_shop_provides_selling(client, world):
    login(client, world["admin"])
    html = client.get("/statistics").get_data(as_text=True)
    for title in ("OCOP", "Bán hàng", "Truy xuất nguồn gốc", "Tham gia"):
        assert title in html
    page = client.get("/statistics/selling").get_data(as_text=True)
    assert "sẽ có khi cửa hàng được bật" not in page  # the shop provides the section
    assert 'id="table-selling_payments"' in page
    assert client.get("/statistics/selling.csv").status_code == 200
    assert client.get("/statistics/nothing").status_code == 404


# --------------------------------------------------------------------------- figures and filters


def test_certificates_and_pipeline_figures(client, world):
    login(client, world["admin"])
    html = client.get("/statistics/ocop?period=all").get_data(as_text=True)
    status = _table(html, "ocop_status")
    assert status["Còn hiệu lực"] == ["7"]
    assert status["Đã thu hồi"] == ["1"]
    assert status["Đã hết hạn"] == ["1"]
    months = _table(html, "ocop_certificates")
    assert sum(int(v[0]) for v in months.values()) == 9  # every certificate signed since 2019
    assert "ocop_pipeline" in html


def test_a_bad_period_is_explained_and_the_default_period_shown(client, world):
    login(client, world["admin"])
    response = client.get("/statistics/ocop?from=2025-13&to=hôm-nay")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nhập ngày dạng 2025-07-01" in html
    assert 'value="2025-13"' in html  # what was typed stays in the field
    assert _table(html, "ocop_stars")["Tổng"] == ["7"]
    assert client.get("/statistics/ocop.csv?from=2026-05-01&to=2026-04-01").status_code == 422
    assert client.get("/statistics/ocop?period=forever").status_code == 422


def test_section_exports_match_the_page(client, world):
    login(client, world["admin"])
    args = f"period=90d&province={THANH_HOA}&map=5"
    html = client.get(f"/statistics/ocop?{args}").get_data(as_text=True)
    blocks = _csv_blocks(client.get(f"/statistics/ocop.csv?{args}").get_data(as_text=True))
    for key, prefix in (
        ("ocop_stars", "Sản phẩm OCOP còn hiệu lực theo số sao"),
        ("ocop_wards", "Sản phẩm OCOP còn hiệu lực theo xã"),
    ):
        title = next(t for t in blocks if t.startswith(prefix))
        assert {r[0]: r[1:] for r in blocks[title][1:]} == _table(html, key)
    response = client.get(f"/statistics/ocop.xlsx?{args}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert len(book.sheetnames) == len(blocks)


def test_participation_counts_producers_and_helpers(app, client, world):
    from cooperatives.models import MemberRole, Producer, Product
    from core.statistics import refresh

    with app.app_context():
        helper = make_user(name="Anh Tuấn hỗ trợ")
        add_member(helper, db.session.get(Producer, world["rau"]), MemberRole.HELPER)
        db.session.execute(update(Product).values(published_at=utcnow()))
        refresh(full=True)
        db.session.commit()
    login(client, world["admin"])
    html = client.get("/statistics/participation").get_data(as_text=True)
    kinds = _table(html, "producers_kind")
    assert kinds["Hợp tác xã (HTX)"] == ["1"] and kinds["Hộ sản xuất kinh doanh"] == ["1"]
    helpers = _table(html, "helpers")
    assert helpers["Người hỗ trợ đang làm việc"] == ["1"]
    assert helpers["Trong đó hộ sản xuất"] == ["1"]
    posted = _table(html, "products_posted")
    assert sum(int(v[0]) for v in posted.values()) == 9  # every product was published today
    assert "tổng hợp lúc" in html
    assert "Anh Tuấn hỗ trợ" not in html


def test_traceability_figures_come_from_the_refreshed_summaries(app, client):
    from core.db import unit_of_work
    from core.i18n import local_today
    from core.statistics import refresh
    from tests.traceability.stamps.test_stamps_support import make_farm
    from traceability import stamps
    from traceability.stamps.reading import ScanContext, read_stamp

    with app.app_context():
        farm = make_farm(10)
        stamps.activate_range(farm.producer_id, 1, 4, farm.batch_id)
        db.session.commit()
        stamp_ids = db.session.scalars(
            select(Stamp.id).where(Stamp.producer_id == farm.producer_id).order_by(Stamp.serial)
        ).all()
        scanner = ScanContext("203.0.113.0/24", "chrome")
        for stamp_id in stamp_ids[:3]:
            with unit_of_work():
                read_stamp(today=local_today(), via="code", stamp_id=stamp_id, scan=scanner)
        admin = make_user(admin=True).id
        db.session.commit()
    login(client, admin)
    before = client.get("/statistics/traceability").get_data(as_text=True)
    assert "chưa được tổng hợp" in before
    with app.app_context():
        refresh(full=True)
        db.session.commit()
    html = client.get("/statistics/traceability").get_data(as_text=True)
    row = _table(html, "trace_provinces")["Phú Thọ"]
    assert row[:4] == ["1", "10", "4", "3"]  # lots, printed, activated, scans
    series = _table(html, "scans_series")
    assert sum(int(v[0]) for v in series.values()) == 3
    assert "tổng hợp lúc" in html
