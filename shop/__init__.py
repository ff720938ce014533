"""Storefront and search, inventory held by lot, cart, checkout, payments, orders.

Reads cooperatives and traceability only through their `selling` modules and signals; sends its
own signals (shop.signals) for the partner API above.
"""

from __future__ import annotations

import os

from flask import Flask

from core.numbers import parse_int


def available_units(variant_ids) -> dict[int, int]:
    """Units each variant can sell now (see shop.inventory.services.available_units)."""
    from shop.inventory.services import available_units as _available

    return _available(variant_ids)


def _on_batch_recalled(sender, *, batch_ids, origin_id, reason, **_extra) -> None:
    from shop.orders.services import handle_recall

    handle_recall(list(batch_ids), origin_id, reason)


_DIRTY = "shop_search_dirty"


def _mark_products(product_ids) -> None:
    from core.db import db

    if product_ids:
        db.session.info.setdefault(_DIRTY, set()).update(product_ids)


def _on_product_changed(sender, *, product_ids, **_extra) -> None:
    _mark_products(product_ids)


_STOCK_DIRTY = "shop_search_stock_dirty"


def _invalidate_product_pages(sender, *, variant_ids, reason="", **_extra) -> None:
    """Stock, holds and orders change what a product page shows (availability): its page,
    its producer's page and the home page are dropped from core/pagecache.py on commit."""
    if not variant_ids:
        return
    from cooperatives import product_tags
    from cooperatives.models import Product, Variant
    from core import pagecache
    from core.db import db

    rows = db.session.execute(
        db.select(Product.id, Product.producer_id)
        .join(Variant, Variant.product_id == Product.id)
        .where(Variant.id.in_(list(variant_ids)))
        .distinct()
    ).all()
    for product_id, producer_id in rows:
        pagecache.invalidate(*product_tags(product_id, producer_id))


def _on_stock_changed(sender, *, variant_ids, reason="", **_extra) -> None:
    if reason == "reservation" or not variant_ids:
        return  # a hold does not change what the index shows (stock on the shelf)
    from core.db import db

    db.session.info.setdefault(_STOCK_DIRTY, set()).update(variant_ids)


def _refresh_search_before_commit(session) -> None:
    """The search index changes in the same transaction as the products and stock it shows."""
    ids = session.info.pop(_DIRTY, None)
    variants = session.info.pop(_STOCK_DIRTY, None)
    if ids:
        from shop.search.services import refresh

        refresh(ids)
    if variants:
        from shop.search.services import refresh_stock

        refresh_stock(variants)


def init_app(app: Flask) -> None:
    from shop.cart import models as _cart_models  # noqa: F401  (tables for migrations)
    from shop.checkout import models as _checkout_models  # noqa: F401
    from shop.inventory import models as _inventory_models  # noqa: F401
    from shop.orders import models as _orders_models  # noqa: F401
    from shop.payments import models as _payments_models  # noqa: F401
    from traceability.signals import batch_recalled

    minutes = parse_int(os.environ.get("RESERVATION_MINUTES") or "15", minimum=1, maximum=1440)
    app.config.setdefault("RESERVATION_MINUTES", minutes or 15)
    batch_recalled.connect(_on_batch_recalled, weak=False)

    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from cooperatives.selling import product_changed, watch_product_changes
    from shop.search import models as _search_models  # noqa: F401
    from shop.signals import stock_changed

    watch_product_changes(Session)
    product_changed.connect(_on_product_changed, weak=False)
    stock_changed.connect(_on_stock_changed, weak=False)
    stock_changed.connect(_invalidate_product_pages, weak=False)
    if not event.contains(Session, "before_commit", _refresh_search_before_commit):
        event.listen(Session, "before_commit", _refresh_search_before_commit)

    from shop.cart import views as cart_views
    from shop.checkout import views as checkout_views
    from shop.orders import fulfilment_views, refund_views  # noqa: F401  (routes on its bp)
    from shop.orders import views as order_views
    from shop.search import views as search_views
    from shop.storefront import views as storefront_views

    cart_views.init_app(app)
    storefront_views.init_app(app)
    app.register_blueprint(checkout_views.bp)
    app.register_blueprint(order_views.bp)
    app.register_blueprint(fulfilment_views.bp)
    app.register_blueprint(search_views.bp)
    from shop.payments import views as payment_views

    app.register_blueprint(payment_views.bp)
    from shop import cli
    from shop.payments import cli as payments_cli
    from shop.payments import vietqr_views

    cli.init_app(app)
    payments_cli.init_app(app)
    vietqr_views.init_app(app)  # VietQR transfers, reconciliation, settlement
    _register_links(app)

    from core.sample_data import register_bench_data, register_demo
    from shop import bench_data, demo

    register_demo(app, "shop", demo.seed_demo)
    register_bench_data(app, "shop", bench_data.generate)

    from core.statistics import provide_section
    from shop import statistics

    provide_section(app, "selling", statistics.build, "shop")


class _CartLabel:
    """'Giỏ hàng (3)': the count is read when the header renders."""

    def __str__(self) -> str:
        from flask_babel import gettext as _

        from shop.cart.views import cart_count

        count = cart_count()
        return _("Giỏ hàng") + (f" ({count})" if count else "")


def _on_a_council() -> bool:
    """Council members and admins: the ones /council/recall-notices answers."""
    from flask_login import current_user

    return bool(current_user.council_seats or current_user.is_platform_admin)


def _register_links(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from core.navigation import add_link

    for slot in ("site", "site.anonymous"):
        add_link(app, slot, "cart.show", _CartLabel(), order=5)
    add_link(app, "site", "orders.history", _l("Đơn hàng"), order=15)
    add_link(app, "producer.nav", "fulfilment.orders", _l("Đơn hàng"), order=40)
    add_link(app, "producer.nav", "fulfilment.stock", _l("Hàng đang bán"), order=45)
    add_link(app, "lot.links", "fulfilment.lot_orders", _l("Đơn hàng nhận lô này"), order=10)
    add_link(
        app,
        "site",
        "orders.council_recall_notices",
        _l("Đơn có lô bị thu hồi"),
        order=32,
        shown=_on_a_council,
    )
