"""VietQR: the NAPAS EMVCo merchant-presented payload a banking app scans to pre-fill a transfer.

TLV fields `ID LEN VALUE` (DOMAIN.md §5): 00 format `01`; 01 `12` dynamic (one amount, one
order); 38 the collecting account {00 NAPAS AID, 01 {00 bank BIN, 01 account}, 02 `QRIBFTTA`};
53 `704` (VND); 54 amount; 58 `VN`; 62 {08 purpose}; 63 CRC-16/CCITT-FALSE over everything
before it, including the literal `6304`.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from flask import current_app

NAPAS_AID = "A000000727"
TO_ACCOUNT = "QRIBFTTA"
PURPOSE_MAX = 25
# Names shown next to the QR; a BIN not listed is shown as its number.
BANK_NAMES = {
    "970446": "Co-opBank (Ngân hàng Hợp tác xã Việt Nam)",
    "970405": "Agribank",
    "970436": "Vietcombank",
    "970415": "VietinBank",
    "970418": "BIDV",
    "970422": "MB Bank",
    "970407": "Techcombank",
}
_NOT_PRINTABLE = re.compile(r"[^ -~]")
_SPACES = re.compile(r"\s+")
_BIN = re.compile(r"[0-9]{6}", re.ASCII)
_ACCOUNT = re.compile(r"[0-9A-Za-z]{1,19}", re.ASCII)


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _bit in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"VietQR field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def transfer_purpose(text: str) -> str:
    """What the buyer's bank puts in the transfer's description: diacritics stripped (case
    kept), printable ASCII only, at most 25 characters."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    ascii_text = _SPACES.sub(" ", _NOT_PRINTABLE.sub("", bare)).strip()
    return ascii_text[:PURPOSE_MAX].rstrip()


def payload(*, bank_bin: str, account_no: str, amount_vnd: int, purpose: str) -> str:
    """The dynamic VietQR string for one transfer of exactly `amount_vnd` đồng."""
    if not _BIN.fullmatch(bank_bin or ""):
        raise ValueError("VietQR bank BIN must be 6 digits")
    if not _ACCOUNT.fullmatch(account_no or ""):
        raise ValueError("VietQR account number must be 1-19 letters or digits")
    if not isinstance(amount_vnd, int) or amount_vnd <= 0 or amount_vnd > 9_999_999_999_999:
        raise ValueError("VietQR amount must be a positive whole number of đồng")
    beneficiary = _tlv("00", bank_bin) + _tlv("01", account_no)
    account = _tlv("00", NAPAS_AID) + _tlv("01", beneficiary) + _tlv("02", TO_ACCOUNT)
    body = (
        _tlv("00", "01")
        + _tlv("01", "12")
        + _tlv("38", account)
        + _tlv("53", "704")
        + _tlv("54", str(amount_vnd))
        + _tlv("58", "VN")
    )
    cleaned = transfer_purpose(purpose)
    if cleaned:
        body += _tlv("62", _tlv("08", cleaned))
    body += "6304"
    return body + f"{crc16_ccitt_false(body.encode('ascii')):04X}"


@dataclass(frozen=True)
class CollectingAccount:
    bank_bin: str
    account_no: str
    account_name: str

    @property
    def bank_name(self) -> str:
        return BANK_NAMES.get(self.bank_bin, self.bank_bin)


def collecting_account() -> CollectingAccount:
    config = current_app.config
    return CollectingAccount(
        config["VIETQR_BANK_BIN"], config["VIETQR_ACCOUNT_NO"], config["VIETQR_ACCOUNT_NAME"]
    )


@dataclass(frozen=True)
class TransferRequest:
    """Everything the buyer needs to pay one order by transfer: QR payload and the same as text."""

    account: CollectingAccount
    amount_vnd: int
    purpose: str
    payload: str


def transfer_request(order_ref: str, amount_vnd: int) -> TransferRequest:
    account = collecting_account()
    purpose = transfer_purpose(order_ref)
    return TransferRequest(
        account,
        amount_vnd,
        purpose,
        payload(
            bank_bin=account.bank_bin,
            account_no=account.account_no,
            amount_vnd=amount_vnd,
            purpose=purpose,
        ),
    )


def qr_png(text: str, *, box_size: int = 8) -> bytes:
    """A PNG of the QR (error correction M, quiet zone 4 modules) sized for a phone screen."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    symbol = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    symbol.add_data(text.encode("ascii"), optimize=0)
    symbol.make(fit=True)
    image = symbol.make_image(fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
