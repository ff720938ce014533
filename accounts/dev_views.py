"""Development outbox viewer: read the codes that would have gone by SMS or e-mail.

Served only in development/testing, and only to a client on this machine (loopback address, no
proxy headers): the page holds every one-time code, the admin's included. Never in production.
"""

from __future__ import annotations

from ipaddress import ip_address

from flask import Blueprint, abort, current_app, render_template, request

from accounts.outbox import latest_messages

bp = Blueprint("accounts_dev", __name__, url_prefix="/dev")

DEV_ENVIRONMENTS = ("development", "testing")
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def is_loopback_client() -> bool:
    """The request comes straight from this machine (a proxy in front would add its headers)."""
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        return ip_address((request.remote_addr or "").split("%")[0]).is_loopback
    except ValueError:
        return False


@bp.before_request
def _only_in_development() -> None:
    if current_app.config.get("APP_ENV") not in DEV_ENVIRONMENTS or not is_loopback_client():
        abort(404)


@bp.get("/outbox")
def outbox():
    html = render_template("accounts/dev_outbox.html", messages=latest_messages(50))
    return html, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
