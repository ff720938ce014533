"""Checkout: hold the cart's units, ask what the courier needs, place the order (cash on
delivery). Prices and fees come from the server; the form carries neither."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.db import unit_of_work
from core.errors import Conflict, Invalid, OutOfStock
from core.i18n import current_locale
from shop.cart import services as carts
from shop.cart.views import find_cart
from shop.checkout.forms import CheckoutForm
from shop.checkout.services import LineIn, clean_contact, place_order, quote, start_checkout
from shop.inventory.services import reservation_of

bp = Blueprint("checkout", __name__)


def _lines(cart) -> list[LineIn]:
    return [LineIn(i.variant_id, i.quantity, i.price_seen_vnd) for i in cart.items]


def _to_cart(message: str):
    flash(message, "error")
    return redirect(url_for("cart.show"), 303)


def _render(form, cart, status: int = 200):
    view = carts.view_cart(cart)
    parts = quote(_lines(cart))
    held = reservation_of(cart.token)
    expires = min((e for _q, e in held.values()), default=None)
    return (
        render_template(
            "shop/checkout.html",
            form=form,
            view=view,
            parts=parts,
            total=sum(p.subtotal + p.shipping for p in parts),
            expires=expires,
        ),
        status,
    )


@bp.route("/checkout", methods=["GET", "POST"])
def checkout():
    cart = find_cart()
    if cart is None or not cart.items:
        return _to_cart(_("Giỏ hàng đang trống."))
    view = carts.view_cart(cart)
    if view.problems:
        return _to_cart(_("Giỏ hàng có thay đổi. Vui lòng xem lại trước khi đặt hàng."))
    form = CheckoutForm()
    if request.method == "GET":
        if current_user.is_authenticated:
            form.name.data = form.name.data or current_user.name
            form.phone.data = form.phone.data or current_user.phone
        try:
            with unit_of_work():
                start_checkout(cart.token, _lines(cart))
        except (OutOfStock, Conflict, Invalid) as error:
            return _to_cart(str(error.message))
        return _render(form, cart)
    if form.pick_province.data:
        return _render(form, cart)
    try:
        contact = clean_contact(
            name=form.name.data,
            phone=form.phone.data,
            email=form.email.data,
            province_code=request.form.get("province_code"),
            ward_code=request.form.get("ward_code"),
            street=form.street.data,
            note=form.note.data,
            locale=current_locale(),
        )
    except Invalid as error:
        form.show_errors(error)
        return _render(form, cart, 422)
    try:
        with unit_of_work():
            order = place_order(
                _lines(cart),
                contact,
                payment_method=request.form.get("payment_method") or "cod",
                buyer_id=current_user.id if current_user.is_authenticated else None,
                holder=cart.token,
                require_reservation=True,
            )
            carts.empty(cart)
            ref, secret, method = order.ref, order.secret, order.payment_method
    except Invalid as error:
        form.show_errors(error)
        return _render(form, cart, 422)
    except (OutOfStock, Conflict) as error:
        return _to_cart(str(error.message))
    flash(_("Đặt hàng thành công. Lưu đường dẫn này để theo dõi đơn."), "success")
    if method == "card":
        return redirect(url_for("payments.card_page", ref=ref, k=secret), 303)
    if method == "vietqr":
        return redirect(url_for("vietqr.transfer", ref=ref, k=secret), 303)
    return redirect(url_for("orders.show", ref=ref, k=secret), 303)
