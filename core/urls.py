"""Addresses: the public base URL printed on stamps and in feeds, and safe redirect targets."""

from __future__ import annotations

from flask import current_app


def public_url(path: str = "") -> str:
    """An absolute address on the public host (`PUBLIC_BASE_URL`): stamps, feeds, e-mails."""
    if path and not path.startswith("/"):
        path = "/" + path
    return current_app.config["PUBLIC_BASE_URL"] + path
