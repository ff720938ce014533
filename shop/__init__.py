"""Storefront, cart, checkout, inventory, payments, orders, feeds and partner API (next wave)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Nothing yet: the shop arrives with the next wave of issues."""
