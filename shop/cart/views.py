"""The cart page and its buttons; works without JavaScript. A guest's cart is found by its own
cookie; a signed-in buyer's by account (the guest cart merges at sign-in)."""

from __future__ import annotations

from flask import (
    Blueprint,
    after_this_request,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from core.db import unit_of_work
from core.errors import DomainError
from core.numbers import parse_id
from core.security import token_or_same_origin
from shop.cart import services
from shop.cart.models import Cart

bp = Blueprint("cart", __name__)
COOKIE = "cart"
COOKIE_AGE = 60 * 60 * 24 * 30


def _user_id() -> int | None:
    return current_user.id if current_user and current_user.is_authenticated else None


def find_cart() -> Cart | None:
    user_id = _user_id()
    if user_id:
        return services.cart_of_user(user_id)
    return services.cart_by_token(request.cookies.get(COOKIE))


def open_cart() -> Cart:
    """The buyer's cart, created (and its cookie set) on first use."""
    cart = services.open_cart(user_id=_user_id(), token=request.cookies.get(COOKIE))
    if cart.user_id is None and request.cookies.get(COOKIE) != cart.token:
        if "set_cart_cookie" not in g:  # only this request pays for the hook
            after_this_request(_set_cookie)
        g.set_cart_cookie = cart.token
    return cart


def _set_cookie(response):
    token = g.pop("set_cart_cookie", None)
    if token:
        response.set_cookie(
            COOKIE,
            token,
            max_age=COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        )
    return response


def cart_count() -> int:
    if "cart_count" not in g:
        cart = find_cart()
        g.cart_count = sum(i.quantity for i in cart.items) if cart else 0
    return g.cart_count


def _back(default: str) -> str:
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@bp.get("/cart")
def show():
    cart = find_cart()
    view = services.view_cart(cart) if cart else None
    return render_template("shop/cart.html", view=view)


@bp.post("/cart/add")
@token_or_same_origin  # posted from cached product pages, which carry no visitor's token
def add():
    variant_id = parse_id(request.form.get("variant_id"))
    try:
        with unit_of_work():
            cart = open_cart()
            services.add_item(cart, variant_id, request.form.get("quantity", "1"))
    except DomainError as error:
        message = next(iter(error.fields.values()), None) if error.fields else None
        flash(f"{error.message} {message or ''}".strip(), "error")
        return redirect(_back(url_for("cart.show")), 303)
    flash(_("Đã thêm vào giỏ hàng."), "success")
    return redirect(_back(url_for("cart.show")), 303)


@bp.post("/cart/update")
def update():
    variant_id = parse_id(request.form.get("variant_id"))
    cart = find_cart()
    if cart is None:
        return redirect(url_for("cart.show"), 303)
    quantity = "0" if "remove" in request.form else request.form.get("quantity")
    try:
        with unit_of_work():
            services.set_quantity(cart, variant_id, quantity)
    except DomainError as error:
        flash(str(error.message), "error")
    return redirect(url_for("cart.show"), 303)


@bp.post("/cart/accept")
def accept():
    """The buyer has seen the new prices (and the products that left)."""
    cart = find_cart()
    if cart is not None:
        with unit_of_work():
            services.accept_prices(cart)
    return redirect(url_for("cart.show"), 303)


def merge_at_sign_in(sender, user, **_extra) -> None:
    """flask_login.user_logged_in: the guest cart joins the buyer's cart."""
    from flask import has_request_context

    if not has_request_context():
        return
    token = request.cookies.get(COOKIE)
    if token:
        with unit_of_work():
            services.merge_into_user(token, user.id)


def init_app(app) -> None:
    from flask_login import user_logged_in

    app.register_blueprint(bp)
    app.jinja_env.globals["cart_count"] = cart_count
    user_logged_in.connect(merge_at_sign_in, weak=False)
