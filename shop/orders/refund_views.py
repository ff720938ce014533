"""Refunds and returned goods on a producer's order page (platform admins act as managers)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from cooperatives.access import current_acting
from core.db import unit_of_work
from core.errors import Conflict, Invalid
from core.i18n import money
from shop.orders import returns, services
from shop.orders.fulfilment_views import _render_order, bp
from shop.payments.refunds import refund_part


def _to_order(producer_id: int, sub_order_id: int):
    return redirect(
        url_for("fulfilment.order", producer_id=producer_id, sub_order_id=sub_order_id), 303
    )


@bp.post("/orders/<int:sub_order_id>/refund")
def refund(producer_id: int, sub_order_id: int):
    acting = current_acting(producer_id)
    services.sub_order_of_producer(producer_id, sub_order_id)
    try:
        with unit_of_work():
            amount = refund_part(
                sub_order_id,
                amount=request.form.get("amount_vnd"),
                method=request.form.get("method", ""),
                reference=request.form.get("reference", ""),
                actor_id=current_user.id,
                request_id=(request.form.get("request_id") or "")[:40] or "form",
            )
    except Invalid as error:
        sub = services.sub_order_of_producer(producer_id, sub_order_id)
        flash(str(error.message), "error")
        return _render_order(acting, sub, 422, {k: str(v) for k, v in error.fields.items()})
    except Conflict as error:
        flash(str(error.message), "error")
        return _to_order(producer_id, sub_order_id)
    if amount:
        flash(_("Đã hoàn %(amount)s cho người mua.", amount=money(amount)), "success")
    else:
        flash(_("Khoản hoàn tiền này đã được ghi nhận trước đó."), "success")
    return _to_order(producer_id, sub_order_id)


@bp.post("/orders/<int:sub_order_id>/goods-returned")
def goods_returned(producer_id: int, sub_order_id: int):
    current_acting(producer_id)
    services.sub_order_of_producer(producer_id, sub_order_id)
    try:
        with unit_of_work():
            units = returns.goods_returned(producer_id, sub_order_id, actor_id=current_user.id)
    except Conflict as error:
        flash(str(error.message), "error")
    else:
        flash(_("Đã nhập lại kho %(units)s đơn vị hàng trả lại.", units=units), "success")
    return _to_order(producer_id, sub_order_id)
