"""A buyer follows an order through its secret link (no account needed); signed-in buyers see
their history."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.db import unit_of_work
from core.errors import Conflict
from core.numbers import parse_id
from core.places import address_line
from shop.orders import services
from shop.payments.ledger import SETTLED, refunds_by_part
from shop.payments.services import payments_of

bp = Blueprint("orders", __name__)


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


@bp.get("/orders/<ref>")
def show(ref: str):
    key = request.args.get("k")
    order = services.order_for_link(ref, key, _user_id())
    payments = payments_of(order.id)
    response = render_template(
        "shop/order.html",
        order=order,
        key=key,
        status=services.order_status(order),
        label=services.status_label,
        address=address_line(order.street, order.ward_code, order.province_code),
        notices=services.recall_notices(order.id),
        payments=payments,
        paid=any(p.status in SETTLED for p in payments),
        refunds=refunds_by_part(order.id),
        cancellable={s.id for s in order.sub_orders if s.status in services.BUYER_MOVES},
    )
    return response, 200, {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


@bp.post("/orders/<ref>/cancel")
def cancel(ref: str):
    key = request.form.get("k")
    order = services.order_for_link(ref, key, _user_id())
    sub_id = parse_id(request.form.get("sub_order_id"))
    try:
        with unit_of_work():
            order = services.order_for_link(ref, key, _user_id())
            services.buyer_cancel(
                order, sub_id, actor_id=_user_id(), reason=request.form.get("reason", "")
            )
    except Conflict as error:
        flash(str(error.message), "error")
    else:
        flash(_("Đã hủy. Hàng đã được trả lại kho."), "success")
    return redirect(url_for("orders.show", ref=order.ref, k=key or None), 303)


@bp.get("/orders")
@login_required
def history():
    orders = services.orders_of_buyer(current_user.id)
    return render_template(
        "shop/order_history.html",
        orders=orders,
        status_of=services.order_status,
        label=services.status_label,
    )


@bp.get("/council/recall-notices")
@login_required
def council_recall_notices():
    """Council members see the orders that received recalled lots in their province."""
    if current_user.is_platform_admin or any(
        s.level == "central" for s in current_user.council_seats
    ):
        rows = services.recall_notices_of()
    else:
        provinces = [s.province_code for s in current_user.council_seats if s.province_code]
        if not provinces:
            from flask import abort

            abort(404)
        rows = [row for code in provinces for row in services.recall_notices_of(province_code=code)]
    return render_template("shop/manage/council_recall_notices.html", rows=rows)
