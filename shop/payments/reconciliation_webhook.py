"""The signed "transfer received" notification, in the shape bank-notification services
(Casso, SePay) send:

    POST /payments/bank-notifications
    X-Bank-Timestamp: 1764496800
    X-Bank-Signature: sha256=<hex HMAC-SHA256(BANK_WEBHOOK_SECRET, "<timestamp>." + raw body)>
    {"id": 92704, "gateway": "Vietcombank", "transactionDate": "2026-11-30 10:00:00",
     "accountNumber": "1000123456", "transferType": "in", "transferAmount": 150000,
     "content": "CQ-7K3M9P2X", "referenceCode": "FT26334XXXXX"}

The signature is checked before anything is read; a timestamp outside the tolerance is stale (a
replayed capture). The transaction key is the bank's reference code (the same one a statement
shows, so a transfer notified and then uploaded is applied once), else the service's id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from flask_babel import gettext as _

from core.i18n import local_today
from core.numbers import parse_int
from core.text import clean
from shop.payments.reconciliation import Received, bank_key
from shop.payments.reconciliation_csv import parse_date

MAX_BODY = 64 * 1024
MAX_AMOUNT = 10**13


class BadNotification(ValueError):
    """Refused: nothing is read or written. `message` says why (for the sender's logs)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes, *,
           tolerance: int, now: float | None = None) -> None:  # fmt: skip
    if not secret:
        raise BadNotification(_("Chưa cấu hình khóa ký thông báo ngân hàng."))
    if not timestamp or not signature or len(body) > MAX_BODY:
        raise BadNotification(_("Thiếu chữ ký hoặc thời điểm ký."))
    sent_at = parse_int(timestamp, minimum=0, maximum=2**40)
    if sent_at is None:
        raise BadNotification(_("Thời điểm ký không hợp lệ."))
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise BadNotification(_("Chữ ký không đúng."))
    if abs((now if now is not None else time.time()) - sent_at) > tolerance:
        raise BadNotification(_("Thông báo đã quá hạn (chữ ký cũ)."))


@dataclass(frozen=True)
class Notification:
    incoming: bool
    account: str
    received: Received


def _text(payload: dict, name: str, limit: int) -> str:
    value = payload.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadNotification(_("Trường %(name)s không hợp lệ.", name=name))
    return clean(str(value))[:limit]


def _amount(payload: dict) -> int:
    value = payload.get("transferAmount")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    amount = None if isinstance(value, bool | float) else parse_int(value, minimum=1)
    if amount is None or amount > MAX_AMOUNT:
        raise BadNotification(_("Số tiền không hợp lệ."))
    return amount


def read(body: bytes) -> Notification:
    """The notification's fields, checked (BadNotification names the first that is wrong)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadNotification(_("Nội dung không phải JSON.")) from error
    if not isinstance(payload, dict):
        raise BadNotification(_("Nội dung không phải JSON."))
    txn_key = _text(payload, "referenceCode", 100) or _text(payload, "id", 60)
    if not txn_key:
        raise BadNotification(_("Thiếu mã giao dịch."))
    booked_on = parse_date(_text(payload, "transactionDate", 40)) or local_today()
    return Notification(
        incoming=_text(payload, "transferType", 10).lower() in ("in", ""),
        account=_text(payload, "accountNumber", 40),
        received=Received(
            bank=bank_key(_text(payload, "gateway", 60)),
            txn_key=txn_key,
            source="webhook",
            booked_on=booked_on,
            amount_vnd=_amount(payload),
            description=_text(payload, "content", 500),
        ),
    )
