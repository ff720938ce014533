"""The presentation toolkit of the statistics pages: period filter, SVG charts, the 34-province
tile map and the CSV/XLSX exports."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from werkzeug.datastructures import MultiDict

from core import places
from core.charts import bar_chart, line_chart
from core.errors import Invalid
from core.exports import csv_text, xlsx_bytes
from core.periods import EARLIEST, parse_period
from core.statistics import Table
from core.tilemap import TILES, legend, steps, tile_map

TODAY = date(2026, 11, 30)


def _period(**args):
    return parse_period(MultiDict(args), TODAY)


def test_presets_and_months():
    assert _period().preset == "12m"
    assert _period().start == date(2025, 12, 1) and _period().end == TODAY
    assert _period(period="30d").days == 30
    assert not _period(period="30d").by_month
    assert _period(period="all").start == EARLIEST
    whole = _period(**{"from": "2025-07", "to": "2025-09"})
    assert (whole.start, whole.end) == (date(2025, 7, 1), date(2025, 9, 30))
    assert len(whole.buckets()) == 92  # per day up to three months
    year = _period(**{"from": "2025-01-01", "to": "2025-12-31"})
    assert year.by_month and len(year.buckets()) == 12
    assert year.bucket_label(year.buckets()[6]) == "07/2025"


@pytest.mark.parametrize(
    "args, field",
    [
        ({"period": "forever"}, "period"),
        ({"from": "2025-13"}, "from"),
        ({"from": "2025-02-30"}, "from"),
        ({"from": "２０２５-01-01"}, "from"),  # full-width digits are not digits here
        ({"to": "hôm nay"}, "to"),
        ({"from": "2026-05-01", "to": "2026-04-01"}, "to"),
        ({"from": "2000-01-01", "to": "2026-01-01"}, "to"),
    ],
)
def test_bad_periods_say_which_field_and_why(app, args, field):
    with app.test_request_context(), pytest.raises(Invalid) as error:
        _period(**args)
    assert field in error.value.fields


def test_the_tile_map_places_every_2025_province_once():
    codes = {p.code for p in places.provinces()}
    assert set(TILES) == codes and len(codes) == 34
    positions = [(column, row) for column, row, _label in TILES.values()]
    assert len(set(positions)) == 34
    # north at the top: Hà Nội above Huế above Hồ Chí Minh above Cà Mau
    rows = {code: row for code, (_c, row, _l) in TILES.items()}
    assert rows[1] < rows[46] < rows[79] < rows[96]
    svg = tile_map({25: 7, 1: 3}, title="Bản đồ", link=lambda code: f"/stats?province={code}")
    assert len(re.findall(r'data-province="(\d+)"', svg)) == 34
    assert 'href="/stats?province=25"' in svg and 'data-value="7"' in svg


def test_map_steps_and_legend():
    assert steps({}) == []
    assert steps({1: 10}) == [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)]
    assert steps({1: 2}) == [(1, 1), (2, 2)]
    assert [label for _colour, label in legend({1: 2})] == ["0", "1", "2"]


def test_charts_escape_labels_and_carry_a_title():
    svg = bar_chart(['<script>"x"</script>', "Cam"], [3, 0], title="Số <b>", uid="c1")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'role="img"' in svg and '<title id="c1-title">Số &lt;b&gt;</title>' in svg
    line = line_chart(
        ["01/2026", "02/2026"], [("Quét", [1, 2]), ("Tem", [0, 5])], title="T", uid="l"
    )
    assert line.count("<polyline") == 2


def test_csv_export_is_excel_friendly_and_defuses_formulas():
    table = Table("t", "Tiêu đề", ["Tên", "Số"], [['=HYPERLINK("x")', 1], ["Cam", 1234]])
    text = csv_text([table], [["Chợ Quê", "OCOP"]])
    lines = text.splitlines()
    assert lines[0] == "Chợ Quê,OCOP"
    assert "'=HYPERLINK" in text and ",1234" in text


def test_xlsx_export_has_one_sheet_per_table_with_numbers_as_numbers():
    tables = [Table("ocop_map", "A", ["x", "n"], [["Phú Thọ", 4]]), Table("b", "B", ["x"], [])]
    book = load_workbook(io.BytesIO(xlsx_bytes(tables, [["Chợ Quê"]])), read_only=True)
    assert book.sheetnames == ["info", "ocop_map", "b"]
    rows = list(book["ocop_map"].iter_rows(values_only=True))
    assert rows[2] == ("Phú Thọ", 4)
