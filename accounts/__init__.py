"""Users, roles, sign-in, partner API keys, audit log."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from accounts import admin_views, cli, contact_views, dev_views, login, models, views  # noqa: F401

    login.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(contact_views.bp)
    app.register_blueprint(admin_views.bp)
    app.register_blueprint(dev_views.bp)
    cli.init_app(app)

    from flask_babel import lazy_gettext as _l

    from core.navigation import add_link

    add_link(app, "site", "accounts.account", _l("Tài khoản"), order=20)
    add_link(app, "site", "accounts.logout", _l("Đăng xuất"), order=90, method="post")
    add_link(app, "site.anonymous", "accounts.login", _l("Đăng nhập"), order=10)

    from accounts import demo
    from core.sample_data import register_demo

    register_demo(app, "accounts", demo.seed_demo, demo.demo_logins)
