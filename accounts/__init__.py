"""Users, roles, sign-in, partner API keys, audit log."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from accounts import admin_views, cli, dev_views, login, models, views  # noqa: F401

    login.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    app.register_blueprint(dev_views.bp)
    cli.init_app(app)
