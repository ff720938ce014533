"""Lots (batches, trace events, EPCIS, recalls) in `lots/`; stamps, scans and the GS1 Digital
Link resolver in `stamps/`; the tables of both in `models.py`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from traceability import models  # noqa: F401  (tables for migrations)
    from traceability.lots import api, cli, views
    from traceability.stamps import cli as stamp_cli
    from traceability.stamps import public_views
    from traceability.stamps import views as stamp_views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(stamp_views.bp)
    app.register_blueprint(public_views.bp)
    cli.init_app(app)

    from core.openapi import add_paths
    from traceability.lots.openapi import PATHS

    add_paths(app, PATHS)
    stamp_cli.init_app(app)
    track_public_pages()
    from traceability.stamps import scan_cache

    scan_cache.init_app(app)


def track_public_pages() -> None:
    """A lot changing (a recall above all) changes what its product's pages may say (the shop
    lists stock by lot): core/pagecache.py bumps the product's tags when a batch is written."""
    from cooperatives import product_tags
    from core import pagecache
    from traceability.models import Batch

    pagecache.track(Batch, lambda b: product_tags(b.product_id, b.producer_id))
