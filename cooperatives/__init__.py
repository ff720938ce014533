"""Producers, members, products and variants, photos, OCOP certificates and evaluation."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from cooperatives import models  # noqa: F401  (tables known to migrations)
