"""Reconciliation: money received on the collecting account becomes paid orders.

A transfer (a statement line or a bank notification) is recorded once per (bank, transaction
key) by INSERT … ON CONFLICT DO NOTHING, so a second upload of the same statement, a replayed
notification or two uploads racing each other apply nothing twice; the ledger's own idempotency
(source "vietqr", external id bank:key) is the second guard. The order reference is looked for in
the transfer's description whatever the bank did to it (spaces, hyphens, case); exactly the
amount due marks the order paid through the ledger; anything else is flagged for a person.

A producer's manager reconciles only its own orders: a line naming another producer's order is
"unmatched" for it (it learns nothing of that order); the platform admin sees every order.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from core.db import db, upsert, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.numbers import DB_INT_MAX
from core.text import clean_multiline, fold
from shop.checkout.services import REF_ALPHABET
from shop.orders.models import Order, SubOrder
from shop.payments import ledger
from shop.payments.models import Payment, PaymentMethod
from shop.payments.reconciliation_models import FLAGGED, BankTransfer, TransferStatus

LEDGER_SOURCE = "vietqr"
BANKS = {
    "vietcombank": "Vietcombank",
    "vietinbank": "VietinBank",
    "bidv": "BIDV",
    "agribank": "Agribank",
    "techcombank": "Techcombank",
    "mbbank": "MB Bank",
    "coopbank": "Co-opBank",
    "other": _l("Ngân hàng khác"),
}
STATUS_LABELS = {
    TransferStatus.MATCHED: _l("Đã khớp, đơn đã thanh toán"),
    TransferStatus.UNMATCHED: _l("Chưa khớp đơn nào"),
    TransferStatus.PARTIAL: _l("Chuyển thiếu: cần người xử lý"),
    TransferStatus.OVER: _l("Chuyển thừa hoặc trả hai lần: cần hoàn tiền"),
    TransferStatus.LATE: _l("Đơn đã hủy trước khi nhận tiền: cần hoàn tiền"),
    TransferStatus.RESOLVED: _l("Đã xử lý"),
}
_REF_BODY = re.compile("CQ([" + REF_ALPHABET + "]{8})")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def bank_key(name: str) -> str:
    """'Vietcombank', 'VCB ', 'MB Bank' → a key of BANKS ('other' when unknown)."""
    folded = _NOT_ALNUM.sub("", fold(name or "").upper()).lower()
    aliases = {"vcb": "vietcombank", "ctg": "vietinbank", "mb": "mbbank", "tcb": "techcombank"}
    folded = aliases.get(folded, folded)
    return folded if folded in BANKS else "other"


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def refs_in(description: str) -> list[str]:
    """Order references in a transfer description, tolerant to spaces, hyphens and case:
    'cq 7k3m-9p2x' and 'CQ7K3M9P2X' both give 'CQ-7K3M9P2X'."""
    squeezed = _NOT_ALNUM.sub("", fold(description or "").upper())
    found: list[str] = []
    start = squeezed.find("CQ")
    while start >= 0:
        match = _REF_BODY.match(squeezed, start)
        if match and f"CQ-{match.group(1)}" not in found:
            found.append(f"CQ-{match.group(1)}")
        start = squeezed.find("CQ", start + 1)
    return found


def find_order(description: str, producer_id: int | None) -> Order | None:
    """The one order the description names (within the producer's orders when given)."""
    refs = refs_in(description)
    if not refs:
        return None
    query = select(Order).where(Order.ref.in_(refs[:10]))
    if producer_id is not None:
        query = query.where(
            exists().where(SubOrder.order_id == Order.id, SubOrder.producer_id == producer_id)
        )
    orders = list(db.session.scalars(query.limit(2)))
    return orders[0] if len(orders) == 1 else None


def line_key(booked_on: date, amount_vnd: int, description: str, occurrence: int) -> str:
    """A statement line without a bank reference: date, amount, description and which
    occurrence of that same triple it is in the file (two identical transfers on one day stay
    two), so the same line gives the same key in this statement and in a longer export."""
    text = f"{booked_on.isoformat()}|{amount_vnd}|{fold(description)}|{occurrence}"
    return "h:" + hashlib.sha256(text.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Received:
    bank: str
    txn_key: str
    source: str  # statement | webhook
    booked_on: date
    amount_vnd: int
    description: str
    producer_id: int | None = None  # the scope: whose orders may match (None: every order)
    upload_id: int | None = None
    line_no: int | None = None


def _insert(received: Received) -> int | None:
    table = BankTransfer.__table__  # a Core insert: no ORM bulk machinery per statement line
    row = db.session.execute(
        upsert(table)
        .values(
            bank=received.bank,
            txn_key=received.txn_key[:128],
            source=received.source,
            upload_id=received.upload_id,
            line_no=received.line_no,
            producer_id=received.producer_id,
            booked_on=received.booked_on,
            amount_vnd=received.amount_vnd,
            description=received.description[:500],
            status=TransferStatus.UNMATCHED,
            note="",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["bank", "txn_key"])
        .returning(table.c.id)
    ).first()
    return row[0] if row else None


def settled_keys(bank: str, keys: list[str], producer_id: int | None) -> set[str]:
    """Keys of this bank already recorded and not open to this scope's matching (one query per
    500 keys): a re-uploaded statement skips them without a round trip per line. The unique
    constraint still decides for lines that race in between."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        rows = db.session.execute(
            select(BankTransfer.txn_key, BankTransfer.status, BankTransfer.producer_id).where(
                BankTransfer.bank == bank, BankTransfer.txn_key.in_(keys[start : start + 500])
            )
        )
        for key, status, owner in rows:
            reopen = status == TransferStatus.UNMATCHED and producer_id in (None, owner)
            if not reopen:
                found.add(key)
    return found


def _vietqr_payment(order_id: int) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(Payment.order_id == order_id, Payment.method == PaymentMethod.VIETQR)
        .order_by(Payment.id.desc())
        .limit(1)
    )


def _apply(transfer: BankTransfer, order: Order, actor_id: int | None) -> str:
    transfer.order_id = order.id
    payment = _vietqr_payment(order.id)
    if payment is None or transfer.amount_vnd > DB_INT_MAX:  # not a transfer order, or absurd
        return TransferStatus.OVER
    result = ledger.mark_paid(
        payment,
        source=LEDGER_SOURCE,
        external_id=f"{transfer.bank}:{transfer.txn_key}",
        amount_vnd=transfer.amount_vnd,
        actor_id=actor_id,
        reference=transfer.txn_key,
    )
    if result.outcome == ledger.PAID:
        return TransferStatus.MATCHED
    if result.outcome == ledger.PAID_AFTER_CANCEL:
        return TransferStatus.LATE
    if result.outcome == ledger.MISMATCH and transfer.amount_vnd < payment.amount_vnd:
        return TransferStatus.PARTIAL
    if result.outcome == ledger.DUPLICATE:
        return TransferStatus.MATCHED  # the ledger holds it already: nothing more to do
    return TransferStatus.OVER


def _match(transfer: BankTransfer, producer_id: int | None, actor_id: int | None) -> str:
    order = find_order(transfer.description, producer_id)
    transfer.status = (
        _apply(transfer, order, actor_id) if order is not None else TransferStatus.UNMATCHED
    )
    db.session.flush()
    return transfer.status


def receive(received: Received, *, actor_id: int | None = None) -> tuple[str, bool]:
    """Record one transfer and match it. (status, new); a transfer seen before is not applied
    again: (its status, False) — unless it is still unmatched and this scope may match it."""
    transfer_id = _insert(received)
    if transfer_id is not None:
        transfer = db.session.get(BankTransfer, transfer_id)
        return _match(transfer, received.producer_id, actor_id), True
    transfer = db.session.scalar(
        select(BankTransfer)
        .where(BankTransfer.bank == received.bank, BankTransfer.txn_key == received.txn_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if transfer.status == TransferStatus.UNMATCHED and (
        received.producer_id is None or received.producer_id == transfer.producer_id
    ):
        if received.producer_id is None:
            transfer.producer_id = None  # the platform took it over: it sees every order
        _match(transfer, received.producer_id, actor_id)
    return transfer.status, False


# --------------------------------------------------------------------------- reads and actions


def _visible(producer_id: int | None):
    """Transfers a scope sees: the platform all; a producer those it brought, or that paid one
    of its orders."""
    query = select(BankTransfer)
    if producer_id is None:
        return query
    own_order = exists().where(
        SubOrder.order_id == BankTransfer.order_id, SubOrder.producer_id == producer_id
    )
    return query.where((BankTransfer.producer_id == producer_id) | own_order)


def open_transfers(producer_id: int | None, limit: int = 200) -> list[BankTransfer]:
    """Unmatched and flagged transfers, newest first: what still needs a person."""
    query = _visible(producer_id).where(
        BankTransfer.status.in_([TransferStatus.UNMATCHED, *FLAGGED])
    )
    return list(db.session.scalars(query.order_by(BankTransfer.id.desc()).limit(limit)))


def recent_transfers(producer_id: int | None, limit: int = 50) -> list[BankTransfer]:
    query = _visible(producer_id).order_by(BankTransfer.id.desc()).limit(limit)
    return list(db.session.scalars(query))


def order_refs(order_ids) -> dict[int, str]:
    ids = [i for i in set(order_ids) if i]
    if not ids:
        return {}
    return dict(db.session.execute(select(Order.id, Order.ref).where(Order.id.in_(ids))).all())


def resolve(producer_id: int | None, transfer_id: int | None, note: str, actor_id: int) -> None:
    """A person handled an unmatched or flagged transfer (refunded it, found its order…)."""
    if transfer_id is None:
        raise NotFound()
    transfer = db.session.scalar(
        _visible(producer_id)
        .where(BankTransfer.id == transfer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if transfer is None:
        raise NotFound()
    if transfer.status not in (TransferStatus.UNMATCHED, *FLAGGED):
        raise Conflict(_("Khoản chuyển này không cần xử lý."))
    note = clean_multiline(note)[:1000]
    if len(note) < 3:
        raise Invalid(fields={"note": _("Ghi đã xử lý thế nào (ít nhất 3 ký tự).")})
    transfer.note = note
    transfer.status = TransferStatus.RESOLVED
    transfer.resolved_by_id = actor_id
    transfer.resolved_at = utcnow()
    db.session.flush()
