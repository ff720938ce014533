"""Batches (lots), trace events (EPCIS), stamps, scans, recalls, GS1 Digital Link resolver."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from traceability import (  # noqa: F401  (models: tables for migrations)
        api,
        cli,
        models,
        public_views,
        stamp_cli,
        stamp_views,
        views,
    )

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(stamp_views.bp)
    app.register_blueprint(public_views.bp)
    cli.init_app(app)

    from core.openapi import add_paths
    from traceability.openapi import PATHS

    add_paths(app, PATHS)
    stamp_cli.init_app(app)
