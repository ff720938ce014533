"""The VietQR payload is what banking apps scan: the DOMAIN.md test vector byte for byte, read back
by a decoder we did not write (napas-qr-python) from the PNG as a QR reader (zxing-cpp) sees it,
and its CRC checked against the standard library's CRC-CCITT."""

from __future__ import annotations

import binascii
import io

import pytest
import zxingcpp
from PIL import Image
from qr_pay import decode as napas_decode

from shop.payments.vietqr import crc16_ccitt_false, payload, qr_png, transfer_purpose

VECTOR = (
    "00020101021238540010A00000072701240006970436011010175956000208QRIBFTTA530370454061800005802VN"
    "62230819thanh toan don hang630470FA"
)


def test_the_domain_test_vector_byte_for_byte():
    code = payload(
        bank_bin="970436", account_no="1017595600", amount_vnd=180000, purpose="thanh toan don hang"
    )
    assert code == VECTOR


def test_crc_is_ccitt_false_as_the_standard_library_computes_it():
    body = VECTOR[:-4]
    assert binascii.crc_hqx(body.encode(), 0xFFFF) == int(VECTOR[-4:], 16)
    assert crc16_ccitt_false(b"123456789") == 0x29B1  # the catalogue check value
    for sample in (b"", b"\x00", b"Cho Que", bytes(range(256))):
        assert crc16_ccitt_false(sample) == binascii.crc_hqx(sample, 0xFFFF)


def test_diacritics_are_stripped_and_the_purpose_cut_at_25_ascii_characters():
    assert transfer_purpose("Thanh toán đơn hàng Đắk Lắk") == "Thanh toan don hang Dak L"
    assert transfer_purpose("CQ-7K3M9P2X\u200b\n") == "CQ-7K3M9P2X"
    code = payload(
        bank_bin="970446", account_no="1000123456", amount_vnd=150000, purpose="Mật ong — rừng"
    )
    assert code.isascii()
    assert napas_decode(code)["purpose_of_transaction"] == "Mat ong rung"


def _read_qr(png: bytes) -> str:
    image = Image.open(io.BytesIO(png))
    found = [
        r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]
    assert len(found) == 1
    return found[0]


def test_the_png_scans_back_to_a_dynamic_transfer_to_the_collecting_account():
    code = payload(
        bank_bin="970446", account_no="1000123456", amount_vnd=1_530_000, purpose="CQ-7K3M9P2X"
    )
    png = qr_png(code)
    width, height = Image.open(io.BytesIO(png)).size
    assert width == height and 250 <= width <= 600  # a phone screen, scannable from another
    scanned = _read_qr(png)
    assert scanned == code
    fields = napas_decode(scanned)  # verifies the CRC too
    assert fields["point_of_initiation_method"] == "12"
    assert fields["glocal_uuid"] == "A000000727"
    assert fields["bin_id"] == "970446"
    assert fields["consumer_id"] == "1000123456"
    assert fields["service_code"] == "QRIBFTTA"
    assert fields["transaction_currency"] == "704"
    assert fields["transaction_amount"] == "1530000"
    assert fields["country_code"] == "VN"
    assert fields["purpose_of_transaction"] == "CQ-7K3M9P2X"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bank_bin": "97044", "account_no": "1", "amount_vnd": 1},
        {"bank_bin": "９７０４４６", "account_no": "1", "amount_vnd": 1},
        {"bank_bin": "970446", "account_no": "", "amount_vnd": 1},
        {"bank_bin": "970446", "account_no": "1" * 20, "amount_vnd": 1},
        {"bank_bin": "970446", "account_no": "1", "amount_vnd": 0},
        {"bank_bin": "970446", "account_no": "1", "amount_vnd": -5},
    ],
)
def test_a_payload_that_no_bank_could_honour_is_refused(kwargs):
    with pytest.raises(ValueError):
        payload(purpose="x", **kwargs)
