"""Order intake from partners: the shop's own `place_order` (same stock, lots, no-oversell
guarantee), behind an Idempotency-Key per partner. A partner reads only its own orders."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cooperatives.models import Product, Variant
from core.db import db
from core.errors import Conflict, Invalid, NotFound
from partners.feeds import visible_ids
from partners.models import Partner, PartnerOrder
from shop.checkout.services import LineIn, clean_contact, place_order
from shop.orders.models import Channel, Order

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def check_idempotency_key(value: str | None) -> str:
    if value is None or not _IDEMPOTENCY_KEY.match(value):
        message = _l("Cần tiêu đề Idempotency-Key: 8–64 ký tự chữ, số hoặc . _ : -")
        raise Invalid(message, fields={"Idempotency-Key": message})
    return value


def body_hash(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _existing(partner_id: int, key: str) -> PartnerOrder | None:
    return db.session.scalar(
        select(PartnerOrder).where(
            PartnerOrder.partner_id == partner_id, PartnerOrder.idempotency_key == key
        )
    )


def place_partner_order(partner: Partner, key: str, data: dict[str, Any]) -> tuple[Order, bool]:
    """(order, created). Same key and body: the order made the first time; another body: 409."""
    digest = body_hash(data)
    found = _existing(partner.id, key)
    if found is not None:
        if found.body_hash != digest:
            raise Conflict(
                _l("Idempotency-Key này đã dùng cho một đơn khác nội dung."),
                code="idempotency_key_reused",
            )
        return db.session.get(Order, found.order_id), False  # type: ignore[return-value]
    variant_ids = [line["variant_id"] for line in data["lines"]]
    listed = set(
        db.session.scalars(
            select(Variant.id)
            .join(Product, Product.id == Variant.product_id)
            .where(
                Variant.id.in_(variant_ids),
                Variant.active.is_(True),
                Product.id.in_(visible_ids(partner.id)),
            )
        )
    )
    missing = [v for v in variant_ids if v not in listed]
    if missing:
        ids = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
        message = _l("Sản phẩm không có trong nguồn cấp của đối tác: %(ids)s", ids=ids)
        raise Invalid(message, fields={"lines": message})
    contact = clean_contact(**data["contact"])
    lines = [
        LineIn(line["variant_id"], line["quantity"], line.get("expected_price_vnd"))
        for line in data["lines"]
    ]
    order = place_order(
        lines,
        contact,
        payment_method=data.get("payment_method", "cod"),
        channel=Channel.PARTNER,
        source=partner.name[:64],
    )
    db.session.add(
        PartnerOrder(
            partner_id=partner.id, idempotency_key=key, body_hash=digest, order_id=order.id
        )
    )
    try:
        db.session.flush()
    except IntegrityError:
        # The same key arrived twice at once: the other request's order stands, this one is
        # rolled back whole (stock included); retrying with the same key returns that order.
        raise Conflict(
            _l("Một yêu cầu khác cùng Idempotency-Key đang được xử lý; vui lòng thử lại."),
            code="idempotency_key_in_use",
        ) from None
    return order, True


def order_of(partner: Partner, ref: str) -> Order:
    order = db.session.scalar(
        select(Order)
        .join(PartnerOrder, PartnerOrder.order_id == Order.id)
        .where(Order.ref == ref[:16], PartnerOrder.partner_id == partner.id)
    )
    if order is None:
        raise NotFound()
    return order


def describe(order: Order) -> dict[str, Any]:
    return {
        "ref": order.ref,
        "payment_method": order.payment_method,
        "subtotal_vnd": order.subtotal_vnd,
        "shipping_vnd": order.shipping_vnd,
        "total_vnd": order.total_vnd,
        "created_at": order.created_at,
        "parts": [
            {"producer_name": part.producer_name, "status": part.status}
            for part in order.sub_orders
        ],
        "lines": [
            {
                "variant_id": line.variant_id,
                "sku": line.sku,
                "product_name": line.product_name,
                "quantity": line.quantity,
                "unit_price_vnd": line.unit_price_vnd,
                "line_total_vnd": line.line_total_vnd,
            }
            for line in order.lines
        ],
    }
