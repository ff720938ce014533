"""Development outbox viewer: read the codes that would have gone by SMS or e-mail."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from accounts.outbox import latest_messages

bp = Blueprint("accounts_dev", __name__, url_prefix="/dev")

DEV_ENVIRONMENTS = ("development", "testing")


@bp.before_request
def _only_in_development() -> None:
    if current_app.config.get("APP_ENV") not in DEV_ENVIRONMENTS:
        abort(404)


@bp.get("/outbox")
def outbox():
    html = render_template("accounts/dev_outbox.html", messages=latest_messages(50))
    return html, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
