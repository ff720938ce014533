"""CSRF, security headers, rate limits and session cookie flags."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from limits import parse

from core import limit_storage  # noqa: F401  # registers the sqlite:/// limit storage
from core.errors import RateLimited

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], strategy="moving-window")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def uploaded_files() -> int:
    """How many files this request carries (empty file inputs do not count)."""
    return sum(1 for _name, upload in request.files.items(multi=True) if upload.filename)


def _upload_limit() -> None:
    """Photos per account per hour, counted per file, on every route that takes uploads."""
    if request.method != "POST" or not request.files:
        return
    app = current_app
    if not app.config.get("RATELIMIT_ENABLED", True):
        return
    count = uploaded_files()
    if not count:
        return
    who = current_user.get_id() if current_user.is_authenticated else request.remote_addr
    item = parse(app.config["UPLOAD_LIMIT"])
    if not limiter.limiter.hit(item, "uploads", str(who).split(":", 1)[0], cost=count):
        raise RateLimited(
            _l("Bạn đã tải lên quá nhiều ảnh trong một giờ. Vui lòng thử lại sau ít phút.")
        )


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    limiter.init_app(app)
    app.before_request(_upload_limit)

    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "geolocation=(), microphone=(), camera=()")
        if app.config["APP_ENV"] == "production" and request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
