"""Checkout: hold stock while the buyer fills the form, then place the order.

`place_order` is the one way an order is made — from the web checkout, and later from a
partner's intake — so every channel draws on the same stock with the same guarantees: prices and
fees recomputed here, quantities of a variant summed, stock allocated first-expiry-first-out
under lock, all or nothing.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _

from cooperatives.selling import ocop_stars, sale_variants
from core import places
from core.db import db, utcnow
from core.errors import Conflict, Invalid
from core.numbers import parse_id, parse_int
from core.phones import normalize_phone
from core.text import clean, clean_multiline
from shop.cart.services import MAX_LINE_QUANTITY
from shop.checkout.shipping import shipping_fee
from shop.inventory.services import allocate, reservation_of, reserve
from shop.orders.models import (
    Channel,
    Order,
    OrderEvent,
    OrderLine,
    OrderLineLot,
    OrderStatus,
    SubOrder,
)
from shop.orders.notifications import notify
from shop.payments.services import open_payments
from shop.signals import order_status_changed
from traceability.lots.selling import lot_facts

REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
PAYMENT_METHODS = ("cod", "card", "vietqr", "partner")
PAID_ELSEWHERE = ("cod", "partner")  # nothing to wait for: confirmed at once


@dataclass(frozen=True)
class LineIn:
    variant_id: int
    quantity: int
    expected_price_vnd: int | None = None  # the price the buyer saw; a change is refused


@dataclass
class Contact:
    name: str
    phone: str
    email: str | None
    province_code: int
    ward_code: int
    street: str
    note: str = ""
    locale: str = "vi"
    errors: dict[str, str] = field(default_factory=dict)


def new_ref() -> str:
    return "CQ-" + "".join(secrets.choice(REF_ALPHABET) for _ in range(8))


def clean_contact(
    *,
    name,
    phone,
    province_code,
    ward_code,
    street,
    note="",
    email=None,
    locale="vi",
) -> Contact:
    """Validate what the courier needs; Invalid names every field that is wrong."""
    errors: dict[str, str] = {}
    name = clean(name)[:120]
    if len(name) < 2:
        errors["name"] = _("Ghi họ tên người nhận.")
    e164 = normalize_phone(phone)
    if e164 is None:
        errors["phone"] = _("Số điện thoại Việt Nam không hợp lệ, ví dụ 0912 345 678.")
    province = places.province(parse_id(province_code))
    if province is None:
        errors["province_code"] = _("Chọn tỉnh, thành phố.")
    ward = places.ward(parse_id(ward_code))
    if ward is None or (province is not None and ward.province_code != province.code):
        errors["ward_code"] = _("Chọn xã, phường trong danh sách của tỉnh đã chọn.")
    street = clean(street)[:200]
    if len(street) < 3:
        errors["street"] = _("Ghi số nhà, thôn, đường.")
    email = clean(email).lower()[:254] or None
    if email and ("@" not in email or " " in email):
        errors["email"] = _("Địa chỉ e-mail không hợp lệ.")
    note = clean_multiline(note)[:1000]
    if errors:
        raise Invalid(_("Vui lòng kiểm tra các ô được đánh dấu."), fields=errors)
    return Contact(
        name=name,
        phone=e164,  # type: ignore[arg-type]
        email=email,
        province_code=province.code,  # type: ignore[union-attr]
        ward_code=ward.code,  # type: ignore[union-attr]
        street=street,
        note=note,
        locale=locale if locale in ("vi", "en") else "vi",
    )


def start_checkout(holder: str, lines: Iterable[LineIn]) -> datetime:
    """Hold the cart's units for RESERVATION_MINUTES; OutOfStock names what is short."""
    wanted: dict[int, int] = defaultdict(int)
    for line in lines:
        wanted[line.variant_id] += line.quantity
    return reserve(holder, wanted)


def _check_lines(lines: Iterable[LineIn]):
    lines = list(lines)
    if not lines:
        raise Invalid(_("Giỏ hàng đang trống."))
    summed: dict[int, int] = defaultdict(int)
    expected: dict[int, int | None] = {}
    for line in lines:
        variant_id = parse_id(line.variant_id)
        quantity = parse_int(line.quantity, minimum=1, maximum=MAX_LINE_QUANTITY)
        if variant_id is None or quantity is None:
            raise Invalid(
                _("Số lượng phải từ 1 đến %(n)s.", n=MAX_LINE_QUANTITY),
                fields={"quantity": _("Nhập số từ 1 đến %(n)s.", n=MAX_LINE_QUANTITY)},
            )
        summed[variant_id] += quantity
        if line.expected_price_vnd is not None:
            expected[variant_id] = line.expected_price_vnd
    if any(q > MAX_LINE_QUANTITY for q in summed.values()):
        raise Invalid(_("Mỗi sản phẩm tối đa %(n)s gói trong một đơn.", n=MAX_LINE_QUANTITY))
    variants = sale_variants(summed)
    gone = [v for v in summed if v not in variants or not variants[v].on_sale]
    if gone:
        raise Conflict(
            _("Có sản phẩm trong giỏ không còn bán. Vui lòng xem lại giỏ hàng."), code="stale_cart"
        )
    changed = [
        v for v, price in expected.items() if price is not None and variants[v].price_vnd != price
    ]
    if changed:
        raise Conflict(
            _("Giá của một số sản phẩm đã thay đổi. Vui lòng xem lại giỏ hàng."), code="stale_cart"
        )
    return summed, variants


def place_order(
    lines: Iterable[LineIn],
    contact: Contact,
    *,
    payment_method: str = "cod",
    channel: str = Channel.WEB,
    source: str = "",
    buyer_id: int | None = None,
    holder: str | None = None,
    require_reservation: bool = False,
    auto_confirm: bool = True,
) -> Order:
    """Make the order: one sub-order per producer, lines with the lots they took, a payment
    record per amount to collect. Cash on delivery is confirmed at once."""
    if payment_method not in PAYMENT_METHODS or (
        payment_method == "partner" and channel != Channel.PARTNER  # the partner pays: its own
    ):
        raise Invalid(fields={"payment_method": _("Chọn cách thanh toán.")})
    if channel not in set(Channel):
        raise Invalid(_("Kênh bán không hợp lệ."))
    summed, variants = _check_lines(lines)
    if require_reservation:
        held = reservation_of(holder or "")
        now = utcnow()
        if any(v not in held or held[v][0] < q or held[v][1] <= now for v, q in summed.items()):
            raise Conflict(
                _("Thời gian giữ hàng cho bạn đã hết. Vui lòng xem lại giỏ hàng và đặt lại."),
                code="reservation_expired",
            )
    by_producer: dict[int, list[int]] = defaultdict(list)
    for variant_id in sorted(summed):
        by_producer[variants[variant_id].producer_id].append(variant_id)
    order = Order(
        ref=new_ref(),
        secret=secrets.token_urlsafe(24),
        channel=channel,
        source=clean(source)[:64],
        buyer_id=buyer_id,
        buyer_name=contact.name,
        buyer_phone=contact.phone,
        buyer_email=contact.email,
        locale=contact.locale,
        province_code=contact.province_code,
        ward_code=contact.ward_code,
        street=contact.street,
        note=contact.note,
        payment_method=payment_method,
        subtotal_vnd=0,
        shipping_vnd=0,
        total_vnd=0,
    )
    db.session.add(order)
    db.session.flush()
    order_lines: list[OrderLine] = []
    stars = ocop_stars({variants[v].product_id for v in summed})  # as shown when sold
    for producer_id, variant_ids in sorted(by_producer.items()):
        subtotal = sum(variants[v].price_vnd * summed[v] for v in variant_ids)
        weight = sum((variants[v].weight_grams or 0) * summed[v] for v in variant_ids)
        fee = shipping_fee(producer_id, subtotal=subtotal, weight_grams=weight)
        sub = SubOrder(
            order_id=order.id,
            producer_id=producer_id,
            producer_name=variants[variant_ids[0]].producer_name,
            status=OrderStatus.PLACED,
            subtotal_vnd=subtotal,
            shipping_vnd=fee,
            weight_grams=weight,
        )
        db.session.add(sub)
        db.session.flush()
        order.subtotal_vnd += subtotal
        order.shipping_vnd += fee
        for variant_id in variant_ids:
            v = variants[variant_id]
            line = OrderLine(
                order_id=order.id,
                sub_order_id=sub.id,
                variant_id=v.id,
                product_id=v.product_id,
                product_name=v.product_name_vi,
                variant_label=v.label,
                sku=v.sku,
                unit_price_vnd=v.price_vnd,
                quantity=summed[variant_id],
                line_total_vnd=v.price_vnd * summed[variant_id],
                ocop_stars=stars.get(v.product_id, 0),
            )
            db.session.add(line)
            order_lines.append(line)
    order.total_vnd = order.subtotal_vnd + order.shipping_vnd
    db.session.flush()
    db.session.refresh(order)
    # Everything that does not need the stock is written before the stock rows are locked:
    # the lock is then held only for the allocation and the commit.
    open_payments(order)
    for sub in order.sub_orders:
        db.session.add(
            OrderEvent(
                order_id=order.id,
                sub_order_id=sub.id,
                from_status=None,
                to_status=OrderStatus.PLACED,
                actor_id=buyer_id,
                actor_role="buyer",
            )
        )
        order_status_changed.send(
            "shop", order_id=order.id, sub_order_id=sub.id, old=None, new=OrderStatus.PLACED
        )
        if payment_method in PAID_ELSEWHERE and auto_confirm:
            sub.status = OrderStatus.CONFIRMED
            db.session.add(
                OrderEvent(
                    order_id=order.id,
                    sub_order_id=sub.id,
                    from_status=OrderStatus.PLACED,
                    to_status=OrderStatus.CONFIRMED,
                    actor_role="system",
                )
            )
            order_status_changed.send(
                "shop",
                order_id=order.id,
                sub_order_id=sub.id,
                old=OrderStatus.PLACED,
                new=OrderStatus.CONFIRMED,
            )
    notify(order, "confirmed" if payment_method in PAID_ELSEWHERE and auto_confirm else "placed")
    picks = allocate(
        [(line.id, line.variant_id, line.quantity) for line in order_lines],
        holder=holder,
        actor_id=buyer_id,
    )
    codes = {f.id: f.lot_code for f in lot_facts({p.batch_id for p in picks}).values()}
    for pick in picks:
        db.session.add(
            OrderLineLot(
                order_line_id=pick.order_line_id,
                stock_lot_id=pick.stock_lot_id,
                batch_id=pick.batch_id,
                lot_code=codes.get(pick.batch_id, ""),
                quantity=pick.quantity,
            )
        )
    db.session.flush()
    return order


@dataclass(frozen=True)
class QuotePart:
    producer_id: int
    producer_name: str
    subtotal: int
    weight_grams: int
    shipping: int


def quote(lines: Iterable[LineIn]) -> list[QuotePart]:
    """What the buyer will pay per producer, computed as place_order will."""
    summed, variants = _check_lines(lines)
    parts: dict[int, list[int]] = defaultdict(list)
    for variant_id in sorted(summed):
        parts[variants[variant_id].producer_id].append(variant_id)
    result = []
    for producer_id, ids in sorted(parts.items()):
        subtotal = sum(variants[v].price_vnd * summed[v] for v in ids)
        weight = sum((variants[v].weight_grams or 0) * summed[v] for v in ids)
        result.append(
            QuotePart(
                producer_id,
                variants[ids[0]].producer_name,
                subtotal,
                weight,
                shipping_fee(producer_id, subtotal=subtotal, weight_grams=weight),
            )
        )
    return result
