"""Kernel routes: health probe, media files, language switch."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, jsonify, redirect, request, send_file

from core.db import database_answers
from core.i18n import remember_language
from core.images import image_path
from core.security import csrf
from core.urls import safe_redirect_target

bp = Blueprint("core", __name__)


@bp.get("/healthz")
def healthz():
    database = "ok" if database_answers() else "unavailable"
    status = 200 if database == "ok" else 503
    body = {"status": "ok" if status == 200 else "degraded", "database": database}
    return jsonify(body), status


@bp.get("/media/<key>/<variant>.webp")
def media(key: str, variant: str):
    path = image_path(key, variant)
    if path is None:
        abort(404)
    response = send_file(path, mimetype="image/webp", max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.post("/lang/<code>")
@csrf.exempt  # changing the display language alters nothing worth forging
def set_language(code: str):
    from flask import current_app

    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    target = safe_redirect_target(request.form.get("next") or request.referrer)
    target = _without_lang(target)  # a ?lang= left in the address would undo the choice
    response = redirect(target, code=303)
    remember_language(response, code)
    return response


def _without_lang(target: str) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    return urlunsplit(("", "", parts.path or "/", urlencode(query), ""))


def init_cli(app: Flask) -> None:
    """Kernel CLI commands live here; domains add their own in their cli.py."""
    from core import backup

    backup.init_app(app)
