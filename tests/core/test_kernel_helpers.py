import pytest
from flask import render_template_string

from core import places
from core.gs1 import check_digit, digital_link, is_valid_gtin, normalize_gtin
from core.i18n import current_locale
from core.money import format_vnd, parse_vnd
from core.phones import display_phone, normalize_phone
from core.text import fold, slugify


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("0912 345 678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("12345", None),
        ("0123", None),
        ("", None),
        ("+1 650 253 0000", None),
    ],
)
def test_vietnamese_phone_numbers_are_normalised(typed, expected):
    assert normalize_phone(typed) == expected


def test_phone_is_shown_in_national_format():
    assert display_phone("+84912345678") == "0912 345 678"


def test_money_is_shown_in_dong_the_same_in_every_language(app):
    assert format_vnd(150000) == "150.000\xa0₫"
    for lang in ("vi", "en"):  # the house rule holds for a visitor who chose English too
        with app.test_request_context(f"/?lang={lang}"):
            assert current_locale() == lang
            assert render_template_string("{{ 150000 | money }}") == "150.000\xa0₫"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("150.000", 150000),
        ("150,000 đ", 150000),
        ("150000", 150000),
        ("150000 VND", 150000),
        ("abc", None),
        ("-5", None),
        ("", None),
    ],
)
def test_forgiving_money_input(typed, expected):
    assert parse_vnd(typed) == expected


def test_vietnamese_folding_and_slugs():
    assert fold("Mật ong Đồng Tháp") == "mat ong dong thap"
    assert slugify("Cam Cao Phong loại 1") == "cam-cao-phong-loai-1"
    assert slugify("!!!") == "x"


def test_gtin_check_digit_follows_gs1():
    assert check_digit("893123456789") == 7
    assert is_valid_gtin("8931234567897")
    assert not is_valid_gtin("8931234567890")
    assert normalize_gtin("893-1234-567897") == "08931234567897"
    with pytest.raises(ValueError):
        normalize_gtin("8931234567890")


def test_digital_link_percent_encodes_lot_and_serial():
    url = digital_link("https://choque.vn/", "08931234567897", "LOT 1/A", "7")
    assert url == "https://choque.vn/01/08931234567897/10/LOT%201%2FA/21/7"


def test_2025_administrative_units():
    assert len(places.provinces()) == 34
    phu_tho = places.find_province("Phú Thọ")
    cao_phong = places.find_ward("Cao Phong", phu_tho.code)
    assert cao_phong is not None and cao_phong.province_code == phu_tho.code
    assert places.find_province("Hòa Bình") is None  # merged into Phú Thọ in 2025
    assert sum(len(places.wards_of(p.code)) for p in places.provinces()) == 3321


def test_cleaning_drops_control_characters_but_keeps_lines():
    from core.text import clean, clean_multiline

    assert clean("Cam\x00 Cao  Phong\t") == "Cam Cao Phong"
    assert clean_multiline("dòng 1\x00\r\ndòng 2") == "dòng 1\ndòng 2"
