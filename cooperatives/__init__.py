"""Producers, members, products and variants, photos, OCOP certificates and evaluation."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from cooperatives import cli, models, ocop_views, public_views, views  # noqa: F401

    app.register_blueprint(public_views.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(ocop_views.bp)
    cli.init_app(app)
