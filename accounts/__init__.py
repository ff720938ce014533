"""Users, roles, sign-in, partner API keys, audit log."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from accounts import cli, login, models, views  # noqa: F401  (models: tables for migrations)

    login.init_app(app)
    app.register_blueprint(views.bp)
    cli.init_app(app)
