"""The card page (Stripe.js, the one cross-origin script, allowed on this page only) and the
Stripe webhook. The browser never says an order is paid: the webhook or a server-side retrieve
of the PaymentIntent does."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import stripe
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.db import unit_of_work
from core.errors import Conflict, Invalid, problem
from core.security import content_security_policy, csrf
from shop.orders.services import order_for_link
from shop.payments import card, gateway

bp = Blueprint("payments", __name__)
PRIVATE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def card_page_policy() -> str:
    """Stripe.js from STRIPE_JS_URL; it talks to the Stripe API and frames its own origin."""
    config = current_app.config
    js = _origin(config.get("STRIPE_JS_URL") or "")
    api = _origin(config.get("STRIPE_API_BASE") or "https://api.stripe.com")
    return content_security_policy(
        script=[js], connect=sorted({js, api} - {""}), frame=[js] if js else []
    )


def _back(ref: str, key: str | None, endpoint: str = "payments.card_page"):
    return redirect(url_for(endpoint, ref=ref, k=key or None), 303)


@bp.get("/orders/<ref>/pay")
def card_page(ref: str):
    key = request.args.get("k")
    order = order_for_link(ref, key, _user_id())
    state = card.check_attempt(order.id) if gateway.enabled() else None
    if state == "paid":
        return _back(order.ref, key, "orders.show")
    attempt = card.latest_attempt(order.id)
    html = render_template(
        "shop/payments/card.html",
        order=order,
        key=key,
        enabled=gateway.enabled() and card.payable(order),
        state=state,
        failure=card.failure_message(attempt.failure_reason)
        if attempt is not None and state == "failed"
        else None,
        client_secret=card.client_secret(order.id) if state == "action" else None,
        publishable_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY"),
        js_url=current_app.config.get("STRIPE_JS_URL"),
        request_id=secrets.token_urlsafe(12),
    )
    return html, 200, {**PRIVATE, "Content-Security-Policy": card_page_policy()}


@bp.post("/orders/<ref>/pay")
def pay(ref: str):
    key = request.form.get("k")
    order = order_for_link(ref, key, _user_id())
    order_id, ref = order.id, order.ref
    try:
        state = card.pay_by_card(order_id, request.form.get("token", ""))
    except Invalid:
        flash(_("Vui lòng nhập thông tin thẻ."), "error")
        return _back(ref, key)
    except Conflict as error:
        flash(str(error.message), "error")
        return _back(ref, key)
    if state == "paid":
        flash(_("Đã thanh toán. Cảm ơn bạn!"), "success")
        return _back(ref, key, "orders.show")
    return _back(ref, key)


@bp.post("/orders/<ref>/pay/check")
def check(ref: str):
    """After 3-D Secure in the browser: ask Stripe ourselves."""
    key = request.form.get("k")
    order = order_for_link(ref, key, _user_id())
    return _back(order.ref, key)


@bp.post("/payments/stripe/webhook")
@csrf.exempt
def stripe_webhook():
    """Signed by Stripe (STRIPE_WEBHOOK_SECRET). An unknown PaymentIntent is answered 200 and
    logged: it is not ours (another integration on the account), and a non-2xx answer would
    only make Stripe retry it for days."""
    try:
        event = gateway.verified_event(request.get_data(), request.headers.get("Stripe-Signature"))
    except (ValueError, stripe.SignatureVerificationError):
        return problem(
            400,
            _("Chữ ký không hợp lệ"),
            _("Sự kiện không có chữ ký hợp lệ của cổng thanh toán (hoặc đã quá cũ)."),
            code="bad_signature",
        )
    with unit_of_work():
        outcome = card.handle_event(event)
    current_app.logger.info("stripe event %s %s: %s", event.get("id"), event.get("type"), outcome)
    return {"received": True, "outcome": outcome}, 200
