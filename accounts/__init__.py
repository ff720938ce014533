"""Users, roles, sign-in, partner API keys, audit log."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from accounts import models  # noqa: F401  (tables known to migrations)
