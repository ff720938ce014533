"""Lots (batches, trace events, EPCIS, recalls) in `lots/`; stamps, scans and the GS1 Digital
Link resolver in `stamps/`; the tables of both in `models.py`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from traceability import models  # noqa: F401  (tables for migrations)
    from traceability.lots import api, cli, event_views, views  # noqa: F401  (event_views: routes of views.bp)
    from traceability.stamps import cli as stamp_cli
    from traceability.stamps import public_views, resolver_views
    from traceability.stamps import views as stamp_views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(stamp_views.bp)
    app.register_blueprint(public_views.bp)
    app.register_blueprint(resolver_views.bp)
    cli.init_app(app)

    from core.openapi import add_paths
    from traceability.lots.openapi import PATHS, SCHEMAS

    add_paths(app, PATHS, SCHEMAS)
    stamp_cli.init_app(app)

    from flask_babel import lazy_gettext as _l

    from core.navigation import add_link

    add_link(app, "producer.nav", "traceability.batch_list", _l("Lô hàng"), order=20)
    add_link(app, "producer.nav", "stamps.runs", _l("Tem QR"), order=30)
    add_link(
        app,
        "producer.tiles",
        "traceability.batch_list",
        _l("Lô hàng và nhật ký truy xuất"),
        order=20,
    )
    add_link(app, "producer.tiles", "stamps.runs", _l("Tem QR"), order=30)

    from core.sample_data import register_bench_data, register_demo
    from traceability import bench_data, demo

    register_demo(app, "traceability", demo.seed_demo)
    register_bench_data(app, "traceability", bench_data.generate)

    from core.statistics import provide_section, register_refresher
    from traceability import statistics

    provide_section(app, "traceability", statistics.build, "traceability")
    register_refresher(app, statistics.SOURCE, statistics.refresh)
    track_public_pages()


def track_public_pages() -> None:
    """A lot changing (a recall above all) changes what its product's pages may say (the shop
    lists stock by lot): core/pagecache.py bumps the product's tags when a batch is written."""
    from cooperatives import product_tags
    from core import pagecache
    from traceability.models import Batch

    pagecache.track(Batch, lambda b: product_tags(b.product_id, b.producer_id))
