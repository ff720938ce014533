"""Carts: add, change, remove, merge at sign-in, and the cart as the buyer should see it now
(price changes and vanished products explained, never silently changed)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from cooperatives.selling import SaleVariant, sale_variants
from core.db import db, utcnow
from core.errors import Invalid, NotFound
from core.numbers import parse_int
from shop.cart.models import Cart, CartItem
from shop.inventory.services import available_units

MAX_LINE_QUANTITY = 50
MAX_LINES = 30


def new_token() -> str:
    return secrets.token_urlsafe(24)


def cart_by_token(token: str | None) -> Cart | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Cart).where(Cart.token == token, Cart.user_id.is_(None)))


def cart_of_user(user_id: int) -> Cart | None:
    return db.session.scalar(select(Cart).where(Cart.user_id == user_id))


def open_cart(*, user_id: int | None, token: str | None) -> Cart:
    """The buyer's cart, created on first use."""
    cart = cart_of_user(user_id) if user_id else cart_by_token(token)
    if cart is None:
        cart = Cart(token=new_token(), user_id=user_id)
        db.session.add(cart)
        db.session.flush()
    return cart


def parse_quantity(raw, *, allow_zero: bool = False) -> int:
    quantity = parse_int(raw, minimum=0 if allow_zero else 1, maximum=MAX_LINE_QUANTITY)
    if quantity is None:
        raise Invalid(
            _("Số lượng phải từ 1 đến %(n)s.", n=MAX_LINE_QUANTITY),
            fields={"quantity": _("Nhập số từ 1 đến %(n)s.", n=MAX_LINE_QUANTITY)},
        )
    return quantity


def _on_sale(variant_id: int | None) -> SaleVariant:
    variant = sale_variants([variant_id]).get(variant_id) if variant_id else None
    if variant is None or not variant.on_sale:
        raise NotFound(_("Sản phẩm này không còn bán."))
    return variant


def add_item(cart: Cart, variant_id: int | None, quantity_raw) -> CartItem:
    quantity = parse_quantity(quantity_raw)
    variant = _on_sale(variant_id)
    item = next((i for i in cart.items if i.variant_id == variant.id), None)
    total = quantity + (item.quantity if item else 0)
    if total > MAX_LINE_QUANTITY:
        raise Invalid(
            _("Mỗi sản phẩm tối đa %(n)s gói trong một đơn.", n=MAX_LINE_QUANTITY),
            fields={"quantity": _("Giảm số lượng.")},
        )
    if item is None and len(cart.items) >= MAX_LINES:
        raise Invalid(_("Giỏ hàng đã đủ %(n)s sản phẩm.", n=MAX_LINES))
    available = available_units([variant.id]).get(variant.id, 0)
    if total > available:
        raise Invalid(
            _("Chỉ còn %(n)s gói %(label)s.", n=available, label=variant.label)
            if available
            else _("%(name)s đã hết hàng.", name=variant.product_name_vi),
            fields={"quantity": _("Tối đa %(n)s.", n=available)},
        )
    if item is None:
        item = CartItem(
            cart=cart, variant_id=variant.id, quantity=total, price_seen_vnd=variant.price_vnd
        )
        db.session.add(item)
    else:
        item.quantity = total
        item.price_seen_vnd = variant.price_vnd
    cart.updated_at = utcnow()
    db.session.flush()
    return item


def set_quantity(cart: Cart, variant_id: int | None, quantity_raw) -> None:
    quantity = parse_quantity(quantity_raw, allow_zero=True)
    item = next((i for i in cart.items if i.variant_id == variant_id), None)
    if item is None:
        raise NotFound(_("Sản phẩm này không có trong giỏ."))
    if quantity == 0:
        db.session.delete(item)
        cart.items.remove(item)
    else:
        available = available_units([item.variant_id]).get(item.variant_id, 0)
        if quantity > available:
            raise Invalid(
                _("Chỉ còn %(n)s gói.", n=available),
                fields={"quantity": _("Tối đa %(n)s.", n=available)},
            )
        item.quantity = quantity
    cart.updated_at = utcnow()
    db.session.flush()


def accept_prices(cart: Cart) -> None:
    """The buyer saw the new prices: remember them and drop what is no longer sold."""
    variants = sale_variants(i.variant_id for i in cart.items)
    for item in list(cart.items):
        variant = variants.get(item.variant_id)
        if variant is None or not variant.on_sale:
            db.session.delete(item)
            cart.items.remove(item)
        else:
            item.price_seen_vnd = variant.price_vnd
    db.session.flush()


def merge_into_user(token: str | None, user_id: int) -> Cart | None:
    """At sign-in: the guest cart's lines join the buyer's cart (quantities added, capped)."""
    guest = cart_by_token(token)
    if guest is None or not guest.items:
        return None
    mine = cart_of_user(user_id)
    if mine is None:
        guest.user_id = user_id
        db.session.flush()
        return guest
    by_variant = {i.variant_id: i for i in mine.items}
    for item in guest.items:
        existing = by_variant.get(item.variant_id)
        if existing is None:
            db.session.add(
                CartItem(
                    cart=mine,
                    variant_id=item.variant_id,
                    quantity=item.quantity,
                    price_seen_vnd=item.price_seen_vnd,
                )
            )
        else:
            existing.quantity = min(MAX_LINE_QUANTITY, existing.quantity + item.quantity)
    db.session.delete(guest)
    db.session.flush()
    return mine


@dataclass(frozen=True)
class CartLine:
    variant_id: int
    quantity: int
    variant: SaleVariant | None
    price_seen_vnd: int
    available: int

    @property
    def vanished(self) -> bool:
        return self.variant is None or not self.variant.on_sale

    @property
    def price_changed(self) -> bool:
        return not self.vanished and self.variant.price_vnd != self.price_seen_vnd  # type: ignore[union-attr]

    @property
    def too_many(self) -> bool:
        return not self.vanished and self.quantity > self.available

    @property
    def unit_price(self) -> int:
        return self.variant.price_vnd if self.variant else self.price_seen_vnd

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class CartView:
    token: str
    lines: list[CartLine]

    @property
    def problems(self) -> bool:
        return any(line.vanished or line.price_changed or line.too_many for line in self.lines)

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines if not line.vanished)

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    def by_producer(self) -> list[tuple[int, str, list[CartLine]]]:
        groups: dict[int, tuple[str, list[CartLine]]] = {}
        for line in self.lines:
            if line.variant is None:
                continue
            name, lines = groups.setdefault(
                line.variant.producer_id, (line.variant.producer_name, [])
            )
            lines.append(line)
        return [(pid, name, lines) for pid, (name, lines) in groups.items()]


def view_cart(cart: Cart) -> CartView:
    ids = [i.variant_id for i in cart.items]
    variants = sale_variants(ids)
    available = available_units(ids, exclude_holder=cart.token)
    return CartView(
        token=cart.token,
        lines=[
            CartLine(
                variant_id=i.variant_id,
                quantity=i.quantity,
                variant=variants.get(i.variant_id),
                price_seen_vnd=i.price_seen_vnd,
                available=available.get(i.variant_id, 0),
            )
            for i in cart.items
        ],
    )


def empty(cart: Cart) -> None:
    for item in list(cart.items):
        db.session.delete(item)
    cart.items.clear()
    db.session.flush()
