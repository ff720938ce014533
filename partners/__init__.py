"""Marketplace feeds (JSON, Google Merchant XML, Meta CSV, XLSX), the partner API and outgoing
webhooks. The top package: it may use everything below it; nothing below imports it."""

from __future__ import annotations

from typing import Any

from flask import Flask


def _on_change(reason: str):
    def receiver(_sender: Any, **kwargs: Any) -> None:
        from partners.services import record_change

        record_change(kwargs["product_id"], reason)

    return receiver


_RECEIVERS: dict[str, Any] = {}


def init_app(app: Flask) -> None:
    """Partners register their blueprints, CLI commands and signal handlers here."""
    from flask_babel import lazy_gettext as _l

    from accounts.api_keys import register_scope
    from accounts.roles import is_admin
    from cooperatives import signals as coop
    from core.navigation import add_link
    from core.openapi import add_paths
    from core.sample_data import register_demo
    from partners import api, cli, demo, models, views  # noqa: F401
    from partners.openapi import PATHS, SCHEMAS
    from partners.services import PARTNER_SCOPES

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    cli.init_app(app)
    add_paths(app, PATHS, SCHEMAS)
    for scope, description in PARTNER_SCOPES.items():
        register_scope(scope, description)

    def _admin() -> bool:
        from flask_login import current_user

        return is_admin(current_user)

    add_link(app, "site", "partners.admin_list", _l("Đối tác"), order=25, shown=_admin)
    add_link(app, "producer.nav", "partners.producer_partners", _l("Bán qua đối tác"), order=60)

    # Receivers are module-level (blinker holds weak references) and connected once.
    if not _RECEIVERS:
        for name, signal in (
            ("unpublished", coop.product_unpublished),
            ("archived", coop.product_archived),
            ("certificate_revoked", coop.certificate_revoked),
            ("certificate_lapsed", coop.certificate_lapsed),
        ):
            _RECEIVERS[name] = _on_change(name)
            signal.connect(_RECEIVERS[name])

    register_demo(app, "partners", demo.seed_demo, demo.demo_logins)
