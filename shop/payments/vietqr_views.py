"""The buyer's transfer page: the VietQR to scan and the same as text to copy, reached through
the order's follow link; and the wiring of every bank-transfer page (init_app)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, Response, current_app, render_template, request
from flask_login import current_user

from shop.orders import services as orders
from shop.payments.models import PaymentMethod, PaymentStatus
from shop.payments.services import payments_of
from shop.payments.vietqr import qr_png, transfer_request

bp = Blueprint("vietqr", __name__)
PRIVATE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


def _order():
    user_id = current_user.id if current_user.is_authenticated else None
    return orders.order_for_link(request.view_args["ref"], request.args.get("k"), user_id)


def _transfer_payment(order):
    found = [p for p in payments_of(order.id) if p.method == PaymentMethod.VIETQR]
    return found[-1] if found else None


def _waiting(order, payment) -> bool:
    """Still to be paid: a pending transfer for an order not cancelled (nor expired)."""
    return (
        payment is not None
        and payment.status == PaymentStatus.PENDING
        and orders.order_status(order) != orders.S.CANCELLED
    )


@bp.get("/orders/<ref>/transfer")
def transfer(ref: str):
    order = _order()
    payment = _transfer_payment(order)
    minutes = current_app.config["VIETQR_PAY_MINUTES"]
    html = render_template(
        "shop/payments/transfer.html",
        order=order,
        key=request.args.get("k"),
        payment=payment,
        paid=payment is not None and payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED),
        waiting=_waiting(order, payment),
        request_=transfer_request(order.ref, payment.amount_vnd) if payment else None,
        deadline=order.created_at + timedelta(minutes=minutes),
    )
    return html, 200, PRIVATE


@bp.get("/orders/<ref>/transfer.png")
def transfer_png(ref: str):
    order = _order()
    payment = _transfer_payment(order)
    if not _waiting(order, payment):
        return Response(status=404, headers=PRIVATE)
    png = qr_png(transfer_request(order.ref, payment.amount_vnd).payload)
    return Response(png, mimetype="image/png", headers=PRIVATE)


def init_app(app: Flask) -> None:
    """Blueprints, producer links and admin pages of VietQR, reconciliation and settlement."""
    from flask_babel import lazy_gettext as _l

    from core import jobs
    from core.navigation import add_link
    from core.security import csrf
    from shop.payments import (
        flagged_views,
        reconciliation_statements,
        reconciliation_views,
        settlement_views,
    )
    from shop.payments import reconciliation_models as _models  # noqa: F401  (tables)

    jobs.register(reconciliation_statements.TASK, reconciliation_statements.import_queued)
    app.register_blueprint(bp)
    app.register_blueprint(reconciliation_views.bp)
    app.register_blueprint(settlement_views.bp)
    app.register_blueprint(flagged_views.bp)
    csrf.exempt(reconciliation_views.bank_notification)
    add_link(app, "producer.nav", "transfers.transfers", _l("Chuyển khoản"), order=47)
    add_link(app, "producer.nav", "settlement.overview", _l("Đối soát, thanh toán"), order=48)
    add_link(
        app,
        "site",
        "transfers.admin_transfers",
        _l("Đối soát chuyển khoản"),
        order=60,
        shown=_is_admin,
    )
    add_link(
        app,
        "site",
        "flagged_payments.index",
        _l("Thanh toán cần xử lý"),
        order=61,
        shown=_is_admin,
    )


def _is_admin() -> bool:
    return bool(current_user.is_authenticated and current_user.is_platform_admin)
