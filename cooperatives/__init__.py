"""Producers, members, products and variants, photos, OCOP certificates and evaluation."""

from __future__ import annotations

from flask import Flask, g, request
from flask_login import current_user


def helper_acting_for() -> str | None:
    """On a producer's pages, the producer's name when a community helper is acting for it."""
    if "helper_acting_for" in g:
        return g.helper_acting_for
    from cooperatives.access import active_membership
    from cooperatives.models import MemberRole, Producer
    from core.db import db

    name = None
    producer_id = (request.view_args or {}).get("producer_id")
    acting = g.get("acting")
    if acting is not None and acting.producer.id == producer_id:
        name = acting.producer.name if acting.is_helper else None
    elif isinstance(producer_id, int) and current_user.is_authenticated:
        membership = active_membership(current_user.id, producer_id)
        if membership is not None and membership.role == MemberRole.HELPER:
            producer = db.session.get(Producer, producer_id)
            name = producer.name if producer else None
    g.helper_acting_for = name
    return name


def _on_a_council() -> bool:
    return bool(current_user.council_seats or current_user.is_platform_admin)


def init_app(app: Flask) -> None:
    from cooperatives import cli, models, product_views, public_views, views  # noqa: F401
    from cooperatives.ocop import council_views  # noqa: F401  (routes of the ocop blueprint)
    from cooperatives.ocop import views as ocop_views

    app.register_blueprint(public_views.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(ocop_views.bp)
    cli.init_app(app)
    app.jinja_env.globals["helper_acting_for"] = helper_acting_for

    from flask_babel import lazy_gettext as _l

    from core.navigation import add_link

    add_link(app, "site", "cooperatives.dashboard", _l("Quản lý"), order=10)
    add_link(app, "site", "ocop.council_home", _l("Hội đồng OCOP"), order=30, shown=_on_a_council)
    add_link(app, "site", "statistics.home", _l("Thống kê"), order=35, shown=_on_a_council)
    add_link(app, "site.footer", "statistics.public_stats", _l("Số liệu mở"), order=10)

    from cooperatives import bench_data, demo
    from core.sample_data import register_bench_data, register_demo

    register_demo(app, "cooperatives", demo.seed_demo)
    register_bench_data(app, "cooperatives", bench_data.generate)

    from cooperatives import statistics

    statistics.init_app(app)

    from cooperatives.openapi import PATHS, SCHEMAS
    from core.openapi import add_paths

    add_paths(app, PATHS, SCHEMAS)
    track_public_pages()


def product_tags(product_id: int, producer_id: int | None) -> tuple[str, ...]:
    """Page-cache tags of everything that shows a product: its page, its producer's page (the
    cards) and the catalog home."""
    tags = (f"product:{product_id}", "catalog")
    return (*tags, f"producer:{producer_id}") if producer_id is not None else tags


def track_public_pages() -> None:
    """What of this package shows on public pages, and under which tags (core/pagecache.py)."""
    from cooperatives.models import (
        OcopCategory,
        OcopCertificate,
        Producer,
        Product,
        ProductImage,
        Variant,
    )
    from core import pagecache
    from core.db import db

    def image_tags(image: ProductImage) -> tuple[str, ...]:
        with db.session.no_autoflush:  # called from within a flush
            product = db.session.get(Product, image.product_id)
        return product_tags(image.product_id, product.producer_id if product else None)

    pagecache.track(Product, lambda p: product_tags(p.id, p.producer_id))
    pagecache.track(Variant, lambda v: product_tags(v.product_id, v.producer_id))
    pagecache.track(ProductImage, image_tags)
    pagecache.track(OcopCertificate, lambda c: product_tags(c.product_id, c.producer_id))
    pagecache.track(Producer, lambda p: (f"producer:{p.id}", "catalog"))
    pagecache.track(OcopCategory, lambda _c: ("all",))
