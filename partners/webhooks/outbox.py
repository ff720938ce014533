"""The outbox: signal receivers note what changed in the session; just before the commit the
notes become delivery rows (and feed change-log rows) in the same transaction, so an event is
sent if and only if its change landed. After the commit the runner is woken.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Integer, insert, literal, select

from cooperatives.models import Product, ProductStatus, Variant
from core import jobs
from core.db import db, upsert, utcnow
from partners.models import (
    FeedChange,
    Partner,
    PartnerOptIn,
    PartnerOrder,
    PartnerProductExclusion,
)
from partners.webhooks import COALESCED
from partners.webhooks.models import WebhookDelivery, WebhookEndpoint

NOTES = "partners_webhook_notes"
WRITTEN = "partners_webhook_written"
TASK = "webhooks"


def _notes(session: Any | None = None) -> dict[str, Any]:
    session = session or db.session()
    notes = session.info.get(NOTES)
    if notes is None:
        notes = session.info[NOTES] = {
            "updated": set(),
            "removed": set(),
            "stock": set(),
            "orders": [],
            "recalls": [],
            "withdrawn": [],
            "excluded": [],
        }
    return notes


# ------------------------------------------------------------------ signal receivers


def on_products_changed(_sender: Any, product_ids: list[int], **_: Any) -> None:
    _notes()["updated"].update(product_ids)


def on_product_removed(_sender: Any, product_id: int, **_: Any) -> None:
    _notes()["removed"].add(product_id)


def on_certificate_changed(_sender: Any, product_id: int, **_: Any) -> None:
    _notes()["updated"].add(product_id)


def on_stock_changed(_sender: Any, variant_ids: list[int], **_: Any) -> None:
    _notes()["stock"].update(variant_ids)


def on_order_status_changed(_sender: Any, order_id: int, sub_order_id, old, new, **_: Any) -> None:
    _notes()["orders"].append((order_id, sub_order_id, old, new))


def on_batch_recalled(_sender: Any, batch_ids: list[int], reason: str = "", **_: Any) -> None:
    _notes()["recalls"].append((list(batch_ids), reason))


def note_withdrawal(producer_id: int, partner_id: int) -> None:
    """A producer withdrew from a partner: its products are product.removed for that partner."""
    _notes()["withdrawn"].append((producer_id, partner_id))


def note_exclusions(partner_id: int, excluded: set[int], included: set[int]) -> None:
    """A producer kept products out of (or let them back into) one partner's feeds."""
    _notes()["excluded"].append((partner_id, set(excluded), set(included)))


# ------------------------------------------------------------------ before commit: rows


def _endpoints() -> dict[int, list[tuple[int, list[str]]]]:
    """partner id → [(endpoint id, events)] of active endpoints of active partners."""
    rows = db.session.execute(
        select(WebhookEndpoint.partner_id, WebhookEndpoint.id, WebhookEndpoint.events)
        .join(Partner, Partner.id == WebhookEndpoint.partner_id)
        .where(WebhookEndpoint.active.is_(True), Partner.active.is_(True))
    )
    found: dict[int, list[tuple[int, list[str]]]] = defaultdict(list)
    for partner_id, endpoint_id, events in rows:
        found[partner_id].append((endpoint_id, list(events or [])))
    return found


def _audience(product_ids: set[int], *, published_only: bool) -> list[tuple[int, int]]:
    """(product id, partner id) for partners whose opt-in covers these products (and that
    the producer has not kept them from)."""
    if not product_ids:
        return []
    excluded = (
        select(PartnerProductExclusion.id)
        .where(
            PartnerProductExclusion.partner_id == PartnerOptIn.partner_id,
            PartnerProductExclusion.product_id == Product.id,
        )
        .exists()
    )
    query = (
        select(Product.id, PartnerOptIn.partner_id)
        .join(PartnerOptIn, PartnerOptIn.producer_id == Product.producer_id)
        .where(Product.id.in_(sorted(product_ids)), PartnerOptIn.withdrawn_at.is_(None), ~excluded)
    )
    if published_only:
        query = query.where(Product.status == ProductStatus.PUBLISHED.value)
    return [tuple(row) for row in db.session.execute(query)]  # type: ignore[misc]


class _Rows:
    def __init__(self, endpoints: dict[int, list[tuple[int, list[str]]]]) -> None:
        self.endpoints, self.rows = endpoints, []
        self.now = utcnow()
        window = current_app.config.get("WEBHOOK_COALESCE_SECONDS", 60)
        self.later = self.now + timedelta(seconds=window)

    def add(self, partner_id: int, event: str, subject_id=None, payload=None) -> None:
        for endpoint_id, events in self.endpoints.get(partner_id, ()):
            if events and event not in events:
                continue
            coalesced = event in COALESCED
            self.rows.append(
                {
                    "msg_id": "msg_" + uuid.uuid4().hex,
                    "endpoint_id": endpoint_id,
                    "partner_id": partner_id,
                    "event": event,
                    "subject_id": subject_id,
                    "coalesce_key": f"{event}:{subject_id}" if coalesced else None,
                    "payload": payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": self.later if coalesced else self.now,
                    "last_response": "",
                    "created_at": self.now,
                }
            )


def _order_rows(out: _Rows, moves: list[tuple]) -> None:
    from shop.orders.models import Order, SubOrder

    order_ids = {m[0] for m in moves}
    owners = dict(
        db.session.execute(
            select(PartnerOrder.order_id, PartnerOrder.partner_id).where(
                PartnerOrder.order_id.in_(order_ids)
            )
        ).all()
    )
    for order_id, sub_order_id, old, new in moves:
        partner_id = owners.get(order_id)
        if partner_id is None or partner_id not in out.endpoints:
            continue
        order = db.session.get(Order, order_id)
        sub = db.session.get(SubOrder, sub_order_id) if sub_order_id else None
        payload = {
            "ref": order.ref if order else None,
            "part": sub.producer_name if sub else None,
            "old": str(old) if old is not None else None,
            "new": str(new),
            "order_url": f"/api/v1/orders/{order.ref}" if order else None,
        }
        out.add(partner_id, "order.status_changed", order_id, payload)


def _recall_rows(out: _Rows, recalls: list[tuple[list[int], str]]) -> None:
    from traceability.models import Batch

    for batch_ids, reason in recalls:
        lots = db.session.execute(
            select(Batch.product_id, Batch.lot_code, PartnerOptIn.partner_id)
            .join(PartnerOptIn, PartnerOptIn.producer_id == Batch.producer_id)
            .where(Batch.id.in_(batch_ids), PartnerOptIn.withdrawn_at.is_(None))
        ).all()
        by_partner: dict[int, list[dict]] = defaultdict(list)
        for product_id, lot_code, partner_id in lots:
            by_partner[partner_id].append({"product_id": product_id, "lot_code": lot_code})
        for partner_id, items in by_partner.items():
            out.add(partner_id, "lot.recalled", None, {"lots": items, "reason": reason[:500]})


def _variant_products(variant_ids: set[int]) -> set[int]:
    if not variant_ids:
        return set()
    query = select(Variant.product_id).where(Variant.id.in_(sorted(variant_ids))).distinct()
    return set(db.session.scalars(query))


def _product_rows(out: _Rows, notes: dict[str, Any], session: Any) -> None:
    removed = notes["removed"]
    for product_id, partner_id in _audience(notes["updated"] - removed, published_only=True):
        out.add(partner_id, "product.updated", product_id)
    for product_id, partner_id in _audience(removed, published_only=False):
        out.add(partner_id, "product.removed", product_id, {"id": product_id, "removed": True})
    for producer_id, partner_id in notes["withdrawn"]:
        for product_id in session.scalars(
            select(Product.id).where(Product.producer_id == producer_id)
        ):
            out.add(partner_id, "product.removed", product_id, {"id": product_id, "removed": True})
    for partner_id, excluded, included in notes["excluded"]:
        for product_id in sorted(excluded):
            out.add(partner_id, "product.removed", product_id, {"id": product_id, "removed": True})
        listed = set(db.session.scalars(_published(included)))
        for product_id in sorted(listed):
            out.add(partner_id, "product.updated", product_id)
    stock_products = _variant_products(notes["stock"]) - removed
    for product_id, partner_id in _audience(stock_products, published_only=True):
        out.add(partner_id, "stock.changed", product_id)


def _published(product_ids: set[int]) -> Any:
    return select(Product.id).where(
        Product.id.in_(sorted(product_ids)), Product.status == ProductStatus.PUBLISHED.value
    )


def _log_changes(session: Any, product_ids: set[int], reason: str) -> None:
    if not product_ids:
        return
    session.execute(  # from a select: a product deleted in this transaction is skipped
        insert(FeedChange).from_select(
            ["product_id", "partner_id", "reason", "changed_at"],
            select(
                Product.id,
                literal(None, Integer),
                literal(reason),
                literal(utcnow(), FeedChange.changed_at.type),
            ).where(Product.id.in_(sorted(product_ids))),
        )
    )


def write_deliveries(session: Any) -> None:
    """before_commit: the notes become rows in this transaction."""
    if not has_app_context():
        return
    if session.new or session.dirty or session.deleted:
        session.flush()  # changes made since the last flush announce themselves now
    notes = session.info.pop(NOTES, None)
    if not notes:
        return
    # The feed's change log: updated_since and the ETag watermark see these changes.
    _log_changes(session, notes["updated"], "updated")
    if notes["recalls"]:
        from traceability.models import Batch

        batch_ids = {b for ids, _reason in notes["recalls"] for b in ids}
        recalled = select(Batch.product_id).where(Batch.id.in_(sorted(batch_ids)))
        _log_changes(session, set(session.scalars(recalled)), "recalled")
    endpoints = _endpoints()
    if not endpoints:
        return
    out = _Rows(endpoints)
    _product_rows(out, notes, session)
    if notes["orders"]:
        _order_rows(out, notes["orders"])
    if notes["recalls"]:
        _recall_rows(out, notes["recalls"])
    if out.rows:
        session.execute(_insert_ignoring_bursts(session), out.rows)
        session.info[WRITTEN] = True


def _insert_ignoring_bursts(session: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING: a coalesced event already waiting stays the one row."""
    return upsert(WebhookDelivery, session.get_bind().dialect.name).on_conflict_do_nothing()


def forget_notes(session: Any, previous_transaction: Any) -> None:
    """after_soft_rollback: what a rolled-back transaction noted never happened (a savepoint's
    rollback keeps the outer transaction's notes)."""
    if getattr(previous_transaction, "nested", False):
        return
    session.info.pop(NOTES, None)
    session.info.pop(WRITTEN, None)


def wake_runner(session: Any) -> None:
    if session.info.pop(WRITTEN, None) and has_app_context():
        jobs.kick(TASK)
