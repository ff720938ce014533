"""A producer's side of the shop: orders to pack (only its own sub-orders), packing slips, moves
along the flow, cash recorded, CSV export; stock put on sale from lots; the shipping rule;
recall notices. Outsiders get 404 (cooperatives.access)."""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from cooperatives.access import MANAGERS, current_acting
from cooperatives.selling import sale_variants, variant_ids_of_producer
from core.db import unit_of_work
from core.errors import DomainError, Invalid
from core.i18n import local_today
from core.numbers import parse_id
from core.places import address_line
from shop.checkout import shipping
from shop.inventory import receiving
from shop.inventory import services as inventory
from shop.orders import services
from shop.orders.models import OrderStatus
from shop.orders.packing_slip import packing_slip_pdf
from shop.payments.refunds import MANUAL_METHODS, refund_view
from shop.payments.services import cod_payment, record_cash
from traceability.lots.selling import lot_facts, sellable_lots_of_product

bp = Blueprint("fulfilment", __name__, url_prefix="/manage/<int:producer_id>")


@bp.before_request
@login_required
def _signed_in():
    return None


@bp.get("/orders")
def orders(producer_id: int):
    acting = current_acting(producer_id)
    status = request.args.get("status") or None
    if status not in (None, *OrderStatus):
        status = None
    subs = services.sub_orders_of_producer(producer_id, status)
    return render_template(
        "shop/manage/orders.html",
        producer=acting.producer,
        subs=subs,
        status=status,
        statuses=list(OrderStatus),
        label=services.status_label,
    )


@bp.get("/orders.csv")
def orders_csv(producer_id: int):
    current_acting(producer_id)
    body = services.orders_csv(producer_id)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=don-hang-{local_today()}.csv"},
    )


@bp.get("/orders/<int:sub_order_id>")
def order(producer_id: int, sub_order_id: int):
    acting = current_acting(producer_id)
    sub = services.sub_order_of_producer(producer_id, sub_order_id)
    return _render_order(acting, sub)


def _render_order(acting, sub, status: int = 200, errors: dict | None = None):
    order = sub.order
    return (
        render_template(
            "shop/manage/order.html",
            producer=acting.producer,
            sub=sub,
            order=order,
            address=address_line(order.street, order.ward_code, order.province_code),
            moves=sorted(
                services.PRODUCER_MOVES.get(sub.status, set()), key=list(OrderStatus).index
            ),
            label=services.status_label,
            payment=cod_payment(sub.id),
            refund=refund_view(sub),
            refund_methods=MANUAL_METHODS,
            request_id=secrets.token_urlsafe(12),
            errors=errors or {},
            form=request.form if request.method == "POST" else {},
        ),
        status,
    )


@bp.post("/orders/<int:sub_order_id>/move")
def move(producer_id: int, sub_order_id: int):
    acting = current_acting(producer_id)
    new = request.form.get("to", "")
    try:
        with unit_of_work():
            services.producer_move(
                producer_id,
                sub_order_id,
                new,
                actor_id=current_user.id,
                reason=request.form.get("reason", ""),
                carrier=request.form.get("carrier", ""),
                tracking_number=request.form.get("tracking_number", ""),
            )
    except Invalid as error:
        sub = services.sub_order_of_producer(producer_id, sub_order_id)
        flash(str(error.message), "error")
        return _render_order(acting, sub, 422, {k: str(v) for k, v in error.fields.items()})
    flash(_("Đã cập nhật: %(status)s.", status=services.status_label(new)), "success")
    return redirect(url_for(".order", producer_id=producer_id, sub_order_id=sub_order_id), 303)


@bp.post("/orders/<int:sub_order_id>/cash")
def cash(producer_id: int, sub_order_id: int):
    current_acting(producer_id)
    services.sub_order_of_producer(producer_id, sub_order_id)
    with unit_of_work():
        record_cash(sub_order_id, actor_id=current_user.id)
    flash(_("Đã ghi nhận tiền mặt."), "success")
    return redirect(url_for(".order", producer_id=producer_id, sub_order_id=sub_order_id), 303)


@bp.get("/orders/<int:sub_order_id>/packing-slip.pdf")
def packing_slip(producer_id: int, sub_order_id: int):
    current_acting(producer_id)
    sub = services.sub_order_of_producer(producer_id, sub_order_id)
    pdf = packing_slip_pdf(sub, sub.order)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename=phieu-{sub.order.ref}.pdf"},
    )


# --------------------------------------------------------------------------- stock


def _stock_page(acting, status: int = 200, errors: dict | None = None):
    producer_id = acting.producer.id
    variant_ids = variant_ids_of_producer(producer_id)
    variants = sale_variants(variant_ids)
    lots = inventory.stock_lots(variant_ids)
    facts = lot_facts({lot.batch_id for lot in lots})
    available = inventory.available_units(variant_ids)
    today = local_today()
    receivable = {}
    for product_id in sorted({v.product_id for v in variants.values()}):
        receivable[product_id] = sellable_lots_of_product(product_id, today)
    return (
        render_template(
            "shop/manage/stock.html",
            producer=acting.producer,
            variants=[variants[v] for v in variant_ids if v in variants],
            lots=lots,
            facts=facts,
            available=available,
            receivable=receivable,
            errors=errors or {},
            form=request.form if request.method == "POST" else {},
        ),
        status,
    )


@bp.get("/stock")
def stock(producer_id: int):
    return _stock_page(current_acting(producer_id))


@bp.post("/stock/receipts")
def receive(producer_id: int):
    acting = current_acting(producer_id)
    try:
        with unit_of_work():
            receiving.receive_stock(
                producer_id,
                variant_id=parse_id(request.form.get("variant_id")),
                batch_id=parse_id(request.form.get("batch_id")),
                units=request.form.get("units"),
                lot_quantity=request.form.get("lot_quantity"),
                actor_id=current_user.id,
                actor_role=acting.role,
            )
    except DomainError as error:
        flash(str(error.message), "error")
        return _stock_page(acting, error.status, {k: str(v) for k, v in error.fields.items()})
    flash(_("Đã đưa hàng lên bán."), "success")
    return redirect(url_for(".stock", producer_id=producer_id), 303)


@bp.post("/stock/adjust")
def adjust(producer_id: int):
    acting = current_acting(producer_id)
    stock_lot_id = parse_id(request.form.get("stock_lot_id"))
    if stock_lot_id is None:
        abort(404)
    try:
        with unit_of_work():
            receiving.adjust_stock(
                producer_id,
                stock_lot_id=stock_lot_id,
                delta=request.form.get("delta"),
                reason=request.form.get("reason", ""),
                actor_id=current_user.id,
            )
    except Invalid as error:
        flash(str(error.message), "error")
        return _stock_page(acting, 422, {k: str(v) for k, v in error.fields.items()})
    flash(_("Đã điều chỉnh số lượng."), "success")
    return redirect(url_for(".stock", producer_id=producer_id), 303)


@bp.route("/shipping", methods=["GET", "POST"])
def shipping_rule(producer_id: int):
    acting = current_acting(producer_id, MANAGERS)
    errors: dict = {}
    if request.method == "POST":
        form = request.form
        bands = list(zip(form.getlist("band_up_to"), form.getlist("band_fee"), strict=False))[:10]
        try:
            with unit_of_work():
                shipping.set_rule(
                    producer_id,
                    kind=form.get("kind", ""),
                    flat_fee=form.get("flat_fee"),
                    bands=bands,
                    free_above=form.get("free_above"),
                )
        except Invalid as error:
            errors = {k: str(v) for k, v in error.fields.items()}
        else:
            flash(_("Đã lưu cách tính phí giao hàng."), "success")
            return redirect(url_for(".shipping_rule", producer_id=producer_id), 303)
    return (
        render_template(
            "shop/manage/shipping.html",
            producer=acting.producer,
            rule=shipping.rule_of(producer_id),
            default_fee=shipping.DEFAULT_FLAT_FEE,
            errors=errors,
            form=request.form if request.method == "POST" else {},
        ),
        422 if errors else 200,
    )


# --------------------------------------------------------------------------- recalls


@bp.get("/recall-notices")
def recall_notices(producer_id: int):
    acting = current_acting(producer_id)
    rows = services.recall_notices_of(producer_id=producer_id)
    return render_template("shop/manage/recall_notices.html", producer=acting.producer, rows=rows)


@bp.get("/lots/<int:batch_id>/orders")
def lot_orders(producer_id: int, batch_id: int):
    acting = current_acting(producer_id)
    lot = lot_facts([batch_id]).get(batch_id)
    if lot is None or lot.producer_id != producer_id:
        abort(404)
    rows = services.orders_of_lot(batch_id)
    return render_template(
        "shop/manage/lot_orders.html", producer=acting.producer, lot=lot, rows=rows
    )
