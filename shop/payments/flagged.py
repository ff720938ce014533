"""Payment events flagged for a person (a card paid the wrong amount, money for a paid or
cancelled order, a provider refund no part can carry) and their resolution.

The event log is insert-only, so a resolution is one more event: source `resolution`, its
external id the flagged event's id (the unique key makes a second resolution a conflict), no
money and no ledger entry (`flask payments verify` is unaffected)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, select
from sqlalchemy.orm import aliased

from accounts import audit
from core.db import db
from core.errors import Conflict, Invalid, NotFound
from core.text import clean_multiline
from shop.orders.models import Order
from shop.payments import ledger
from shop.payments.models import PaymentEvent
from shop.payments.reconciliation import LEDGER_SOURCE

TRANSFERS = LEDGER_SOURCE  # bank transfers: resolved on the transfers page, not here
RESOLUTION = "resolution"
RESOLVED = "resolved"

LABELS = {
    ledger.MISMATCH: _l("Số tiền không khớp với đơn: chưa ghi là đã thanh toán"),
    ledger.ALREADY_PAID: _l("Đơn đã thanh toán rồi: đây là lần trả thứ hai"),
    ledger.PAID_AFTER_CANCEL: _l("Tiền đến sau khi đơn đã huỷ"),
    ledger.UNASSIGNED_REFUND: _l("Khoản hoàn tiền không gắn được với phần đơn nào"),
}


@dataclass(frozen=True)
class Flag:
    event: PaymentEvent
    order_ref: str | None

    @property
    def label(self) -> str:
        return str(LABELS.get(self.event.outcome, self.event.outcome))


def _resolution_of():
    resolution = aliased(PaymentEvent)
    return resolution, (resolution.source == RESOLUTION) & (
        resolution.external_id == cast(PaymentEvent.id, String)
    )


def open_flags(limit: int = 200) -> list[Flag]:
    """Flagged events nobody has resolved yet, newest first, with their order's reference.
    Bank transfers are not here: each has its own line to resolve on the transfers page."""
    resolution, joined = _resolution_of()
    rows = db.session.execute(
        select(PaymentEvent, Order.ref)
        .outerjoin(resolution, joined)
        .outerjoin(Order, Order.id == PaymentEvent.order_id)
        .where(
            PaymentEvent.outcome.in_(ledger.FLAGGED),
            PaymentEvent.source != TRANSFERS,
            resolution.id.is_(None),
        )
        .order_by(PaymentEvent.id.desc())
        .limit(limit)
    ).all()
    return [Flag(event, ref) for event, ref in rows]


def resolve_flag(event_id: int | None, note: str, actor_id: int) -> None:
    """A person says how a flagged event was handled (refunded, order re-opened…)."""
    event = db.session.get(PaymentEvent, event_id) if event_id else None
    if event is None or event.outcome not in ledger.FLAGGED or event.source == TRANSFERS:
        raise NotFound()
    note = clean_multiline(note)[:1000]
    if len(note) < 3:
        raise Invalid(fields={"note": _l("Ghi đã xử lý thế nào (ít nhất 3 ký tự).")})
    claimed = ledger.claim_event(
        RESOLUTION,
        str(event.id),
        amount_vnd=0,
        outcome=RESOLVED,
        payment_id=event.payment_id,
        order_id=event.order_id,
        detail=note,
        actor_id=actor_id,
    )
    if claimed is None:
        raise Conflict(_l("Khoản này đã được xử lý."))
    audit.record(
        actor_id,
        "payment.flag_resolved",
        subject_type="payment_event",
        subject_id=event.id,
        summary=note[:300],
        details={"outcome": event.outcome, "order_id": event.order_id},
    )
