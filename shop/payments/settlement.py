"""Settlement: what the platform owes each producer, read from the ledger (sales − refunds −
platform fee − payouts − cash it collected itself), the payouts made, and the CSV of a period.
Nothing here sums money on its own: every figure is the ledger's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.db import db
from core.errors import Invalid
from core.i18n import LOCAL_TZ, local_datetime
from core.money import parse_vnd
from core.numbers import parse_int
from core.periods import Period
from core.statistics import Table
from core.text import clean
from shop.orders.models import Order
from shop.payments import ledger
from shop.payments.models import EntryKind

KIND_LABELS = {
    EntryKind.CHARGE: _l("Bán hàng"),
    EntryKind.FEE: _l("Phí nền tảng"),
    EntryKind.REFUND: _l("Hoàn tiền"),
    EntryKind.PAYOUT: _l("Đã chuyển cho cơ sở"),
    EntryKind.CASH_COLLECTED: _l("Tiền mặt cơ sở đã thu"),
    EntryKind.CASH_REFUNDED: _l("Tiền mặt cơ sở đã hoàn"),
}
MAX_PAYOUT = 10**12


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def utc_range(period: Period) -> tuple[datetime, datetime]:
    """[first local midnight, the midnight after the last day) in UTC."""
    start = datetime.combine(period.start, time.min, LOCAL_TZ).astimezone(UTC)
    end = datetime.combine(period.end + timedelta(days=1), time.min, LOCAL_TZ).astimezone(UTC)
    return start, end


@dataclass(frozen=True)
class Statement:
    producer_id: int
    period: Period
    balance: ledger.Balance  # of the period
    owed_now: int  # all time: what the platform owes today
    entries: list
    refs: dict[int, str]


def statement(producer_id: int, period: Period) -> Statement:
    span = utc_range(period)
    rows = ledger.entries(producer_id=producer_id, period=span)
    ids = {e.order_id for e in rows if e.order_id}
    refs = (
        dict(db.session.execute(select(Order.id, Order.ref).where(Order.id.in_(ids))).all())
        if ids
        else {}
    )
    return Statement(
        producer_id,
        period,
        ledger.balance_of(producer_id, span),
        ledger.balance_of(producer_id).owed,
        rows,
        refs,
    )


def record_payout(producer_id: int, amount_text: str, reference: str, actor_id: int) -> int | None:
    """The platform paid the producer (admin only; the view checks). None: recorded before."""
    amount = parse_vnd(amount_text)
    amount = parse_int(amount, minimum=1, maximum=MAX_PAYOUT) if amount is not None else None
    if amount is None:
        raise Invalid(fields={"amount_vnd": _("Nhập số tiền, ví dụ 1.500.000.")})
    return ledger.record_payout(producer_id, amount, clean(reference)[:128], actor_id)


def csv_tables(st: Statement, producer_name: str) -> tuple[list[Table], list[list]]:
    b = st.balance
    preamble = [
        [_("Đối soát"), producer_name],
        [_("Từ ngày"), st.period.start.isoformat(), _("Đến ngày"), st.period.end.isoformat()],
    ]
    summary = Table(
        "summary",
        _("Tổng hợp trong kỳ (đồng)"),
        [_("Khoản"), _("Số tiền")],
        [
            [_("Bán hàng"), b.sales],
            [_("Hoàn tiền"), -b.refunds],
            [_("Phí nền tảng"), -b.fees],
            [_("Tiền mặt cơ sở tự thu"), -b.cash_held],
            [_("Đã chuyển cho cơ sở"), -b.payouts],
            [_("Thay đổi số nền tảng nợ cơ sở trong kỳ"), b.owed],
            [_("Nền tảng đang nợ cơ sở (đến hôm nay)"), st.owed_now],
        ],
    )
    lines = Table(
        "entries",
        _("Các bút toán"),
        [_("Thời điểm"), _("Loại"), _("Đơn"), _("Số tiền"), _("Phương thức"), _("Tham chiếu")],
        [
            [
                local_datetime(e.created_at),
                kind_label(e.kind),
                st.refs.get(e.order_id, ""),
                e.amount_vnd,
                e.method or "",
                e.reference or "",
            ]
            for e in st.entries
        ],
    )
    return [summary, lines], preamble
