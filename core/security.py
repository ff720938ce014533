"""CSRF, security headers, rate limits and session cookie flags."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, after_this_request, current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from limits import parse

from core import limit_storage  # noqa: F401  # registers the sqlite:/// limit storage
from core.errors import RateLimited

_HOOKS_PER_REQUEST = "limiter_hooks_per_request"


class ViewLimiter(Limiter):
    """Flask-Limiter, whose after-request hook is attached by the request that checks a limit
    when `check_limits_in_views_only` took it off every request (see there)."""

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if current_app.extensions.get(_HOOKS_PER_REQUEST) and "_limit_hooks" not in g:
            g._limit_hooks = True  # once, however many limits the view stacks
            after_this_request(partial(Limiter._Limiter__inject_headers, self))  # type: ignore[attr-defined]
        super()._check_request_limit(callable_name, in_middleware)


csrf = CSRFProtect()
limiter = ViewLimiter(key_func=get_remote_address, default_limits=[], strategy="moving-window")


def content_security_policy(
    *, script: list[str] | tuple[str, ...] = (), connect=(), frame=()
) -> str:
    """The site's policy; a page that needs another origin (only the card page: Stripe.js)
    names it here and sends the result as its own header."""
    directives = [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "style-src 'self'",
        " ".join(["script-src 'self'", *script]),
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    if connect:
        directives.append(" ".join(["connect-src 'self'", *connect]))
    if frame:
        directives.append(" ".join(["frame-src", *frame]))
    return "; ".join(directives)


CONTENT_SECURITY_POLICY = content_security_policy()


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


def has_session_cookie() -> bool:
    """The visitor carries a session (signed in, a cart, a flashed message): its forms carry a
    token bound to that session. Without one, nothing of theirs can be forged."""
    return current_app.config["SESSION_COOKIE_NAME"] in request.cookies


def form_token() -> str:
    """The CSRF token for a form on a page that may be served from the page cache: empty for a
    visitor without a session, so that a cached page never carries one visitor's token to the
    next (the form's view is `@token_or_same_origin`)."""
    if not has_session_cookie():
        return ""
    from flask_wtf.csrf import generate_csrf

    return generate_csrf()


def _same_origin() -> bool:
    """The browser says this POST came from one of our own pages: Fetch Metadata first, else the
    Origin header, else the Referer (browsers send at least one on a cross-site form post)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return False
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}" == request.host_url.rstrip("/")


def token_or_same_origin(view: Callable[..., Any]) -> Callable[..., Any]:
    """CSRF for a form posted from cached public pages (add to cart): a visitor with a session
    must send its token as everywhere else; a visitor without one has no session to abuse, and
    the post must come from our own origin (OWASP's Fetch Metadata / Origin check)."""
    csrf.exempt(view)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_app.config["WTF_CSRF_ENABLED"]:
            if has_session_cookie():
                csrf.protect()
            elif not _same_origin():
                raise CSRFError(_l("Yêu cầu không đến từ trang của Chợ Quê."))
        return view(*args, **kwargs)

    return wrapper


def checks_on_unsafe_methods_only(app: Flask) -> None:
    """One before-request hook for what only a POST/PUT/PATCH/DELETE can need: the upload limit,
    then CSRF. Flask-WTF's own hook looks up the view's exemptions on every request, GET
    included; it is removed, and the same check runs here exactly as Flask-WTF does it."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    methods = frozenset(app.config.get("WTF_CSRF_METHODS") or ("POST", "PUT", "PATCH", "DELETE"))
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks[:] = [h for h in hooks if getattr(h, "__module__", "") != "flask_wtf.csrf"]

    @app.before_request
    def _unsafe_method_checks() -> None:
        if request.method not in methods:
            return
        _upload_limit()
        if app.config["WTF_CSRF_ENABLED"]:
            csrf.protect(apply_exemptions=True)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.jinja_env.globals["form_token"] = form_token
    limiter.init_app(app)
    checks_on_unsafe_methods_only(app)

    # Headers added at the WSGI edge (a list extended once per response) rather than by an
    # after_request hook: werkzeug's Headers.setdefault costs ≈ 15% of a trivial request.
    app.wsgi_app = SecurityHeaders(  # type: ignore[method-assign]
        app.wsgi_app, hsts=app.config["APP_ENV"] == "production"
    )

    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "geolocation=(), microphone=(), camera=()"),
)
_SECURITY_NAMES = frozenset(name.lower() for name, _value in SECURITY_HEADERS)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """Adds each security header the response did not set itself (a view may set its own
    Content-Security-Policy); HSTS only in production over HTTPS."""

    def __init__(self, app: Any, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        secure = self.hsts and environ.get("wsgi.url_scheme") == "https"

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _value in headers}
            if present.isdisjoint(_SECURITY_NAMES):  # the usual case: a view sets none of them
                headers.extend(SECURITY_HEADERS)
            else:
                headers.extend(h for h in SECURITY_HEADERS if h[0].lower() not in present)
            if secure and "strict-transport-security" not in present:
                headers.append(HSTS)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


# --- speed (issue 12): limits checked by the views that carry them, nothing per other request ---


def check_limits_in_views_only(app: Flask) -> None:
    """Drop Flask-Limiter's app-wide before_request check when nothing needs it (no default,
    application or blueprint limits): every limit is then a decorator on its view, and the
    decorator checks it itself. That check costs ≈ 25% of a request that has no limit at all.
    Called once every blueprint is registered; any app-wide limit added keeps the check."""
    manager = limiter.limit_manager
    if manager.default_limits or manager.application_limits or manager._blueprint_limits:
        return
    hooks = app.before_request_funcs.get(None, [])
    app.before_request_funcs[None] = [h for h in hooks if h != limiter._check_request_limit]
    # Its after-request hook (rate-limit headers, conditional deductions) and teardown (a reset
    # of its per-request state, which lives on the request context and goes with it) ran on
    # every request (≈ 15% of a trivial one): the request that checks a limit attaches the
    # after-request hook itself (ViewLimiter), the others pay nothing.
    mine = (Limiter._Limiter__inject_headers, Limiter._Limiter__release_context)  # type: ignore[attr-defined]
    for hooks in (app.after_request_funcs[None], app.teardown_request_funcs[None]):
        hooks[:] = [
            h for h in hooks if getattr(h, "func", getattr(h, "__func__", None)) not in mine
        ]
    app.extensions[_HOOKS_PER_REQUEST] = True
