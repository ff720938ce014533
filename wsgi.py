"""Composition root: the one module that knows every domain package.

gunicorn "wsgi:create_app()"  ·  flask --app wsgi …
"""

from __future__ import annotations

from typing import Any

from flask import Flask

import accounts
import cooperatives
import core
import partners
import shop
import traceability

DOMAINS = (accounts, cooperatives, traceability, shop, partners)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    return core.build_app(DOMAINS, overrides)
