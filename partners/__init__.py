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

WEBHOOK_SETTINGS = {  # name: (default, minimum, maximum)
    "WEBHOOK_COALESCE_SECONDS": (60, 0, 3600),
    "WEBHOOK_MAX_ATTEMPTS": (8, 1, 30),
    "WEBHOOK_RETRY_BASE_SECONDS": (30, 1, 3600),
    "WEBHOOK_LEASE_SECONDS": (60, 5, 3600),
    "WEBHOOK_TIMEOUT_SECONDS": (10, 1, 60),
    "WEBHOOK_CONCURRENCY": (8, 1, 64),
    # After a secret rotation the previous secret signs too, this long (0: it stops at once).
    "WEBHOOK_SECRET_OVERLAP_HOURS": (24, 0, 720),
}


def _webhook_settings(app: Flask) -> None:
    import os

    from core.numbers import parse_int

    for name, (default, low, high) in WEBHOOK_SETTINGS.items():
        raw = os.environ.get(name)
        value = parse_int(raw, minimum=low, maximum=high) if raw else default
        if value is None:
            raise RuntimeError(f"{name} must be a whole number from {low} to {high}")
        app.config.setdefault(name, value)
    # Webhooks to 127.0.0.1 (a receiver on this machine): development and tests only.
    raw = os.environ.get("WEBHOOK_ALLOW_LOOPBACK", "").strip().lower()
    if raw not in ("", "true", "false", "1", "0"):
        raise RuntimeError("WEBHOOK_ALLOW_LOOPBACK must be true or false")
    default = app.config.get("APP_ENV") in ("development", "testing")
    app.config.setdefault("WEBHOOK_ALLOW_LOOPBACK", raw in ("true", "1") if raw else default)
    if app.config["WEBHOOK_ALLOW_LOOPBACK"] and app.config.get("APP_ENV") == "production":
        raise RuntimeError("WEBHOOK_ALLOW_LOOPBACK cannot be set in production")


def _connect_webhooks() -> None:
    """Signals → the outbox; the session's commit writes and then sends (connected once)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from cooperatives import signals as coop
    from cooperatives.selling import product_changed
    from partners.webhooks import outbox
    from shop.signals import order_status_changed, stock_changed
    from traceability.signals import batch_recalled

    product_changed.connect(outbox.on_products_changed, weak=False)
    coop.product_unpublished.connect(outbox.on_product_removed, weak=False)
    coop.product_archived.connect(outbox.on_product_removed, weak=False)
    coop.certificate_revoked.connect(outbox.on_certificate_changed, weak=False)
    coop.certificate_lapsed.connect(outbox.on_certificate_changed, weak=False)
    stock_changed.connect(outbox.on_stock_changed, weak=False)
    order_status_changed.connect(outbox.on_order_status_changed, weak=False)
    batch_recalled.connect(outbox.on_batch_recalled, weak=False)
    # First among before_commit listeners: its flush lets the others see every change too.
    event.listen(Session, "before_commit", outbox.write_deliveries, insert=True)
    event.listen(Session, "after_commit", outbox.wake_runner)
    event.listen(Session, "after_soft_rollback", outbox.forget_notes)


def init_app(app: Flask) -> None:
    """Partners register their blueprints, CLI commands and signal handlers here."""
    from flask_babel import lazy_gettext as _l

    from accounts.api_keys import register_scope
    from accounts.roles import is_admin
    from cooperatives import signals as coop
    from core import jobs
    from core.navigation import add_link
    from core.openapi import add_paths
    from core.sample_data import register_demo
    from partners import api, cli, demo, models, views, webhook_api, webhook_views  # noqa: F401
    from partners.openapi import PATHS, SCHEMAS
    from partners.services import PARTNER_SCOPES
    from partners.webhooks import delivery
    from partners.webhooks import models as _webhook_models  # noqa: F401

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(webhook_api.bp)
    app.register_blueprint(webhook_views.bp)
    _webhook_settings(app)
    jobs.register("webhooks", delivery.deliver_due)
    cli.init_app(app)
    add_paths(app, PATHS, SCHEMAS)
    for scope, description in PARTNER_SCOPES.items():
        register_scope(scope, description)

    def _admin() -> bool:
        from flask_login import current_user

        return is_admin(current_user)

    add_link(app, "site", "partners.admin_list", _l("Đối tác"), order=25, shown=_admin)
    add_link(app, "producer.nav", "partners.producer_partners", _l("Bán qua đối tác"), order=60)
    add_link(app, "site.footer", "partners.developers", _l("API cho đối tác"), order=20)

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
        _connect_webhooks()

    register_demo(app, "partners", demo.seed_demo, demo.demo_logins)
