"""Marketplace feeds (JSON, Google Merchant XML, Meta CSV, XLSX), the partner API and outgoing
webhooks. The top package: it may use everything below it; nothing below imports it."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Partners register their blueprints, CLI commands and signal handlers here."""
