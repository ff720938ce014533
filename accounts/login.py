"""Flask-Login wiring: session identity "id:session_version", safe `next`, 401 for the API."""

from __future__ import annotations

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user

from accounts.models import User
from core.db import db
from core.errors import problem
from core.numbers import parse_id, parse_int
from core.urls import safe_redirect_target

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Vui lòng đăng nhập để tiếp tục.")
login_manager.login_message_category = "warning"
login_manager.session_protection = "basic"  # "strong" would sign out phones whose IP changes on 3G


def load_user(identity: str) -> User | None:
    """`identity` is User.get_id(): "42:3". A stale version (password changed) is refused."""
    user_id, sep, version = str(identity).partition(":")
    number, session_version = parse_id(user_id), parse_int(version)
    if not sep or number is None or session_version is None:
        return None
    user = db.session.get(User, number)
    if user is None or not user.active or user.session_version != session_version:
        return None
    return user


def safe_next(target: str | None) -> str | None:
    """A path on this site to return to after sign-in, or None (no open redirects)."""
    return safe_redirect_target(target, fallback=None)


def landing_url() -> str:
    """Where a sign-in lands: the cooperatives package's start page sends each role to its
    own work (accounts cannot know producers or councils)."""
    for endpoint in ("cooperatives.start", "cooperatives.dashboard"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint)
    return "/"


def start_session(user: User, remember: bool = False) -> None:
    """Sign `user` in on a fresh session (keeps only the chosen language)."""
    language = session.get("lang") or request.cookies.get("lang")  # chosen before signing in
    session.clear()
    session["lang"] = language or user.locale
    login_user(user, remember=remember)


def _unauthorized():
    if request.path.startswith("/api/"):
        response = problem(401, str(_l("Vui lòng đăng nhập.")), code="unauthorized")
        response.headers["WWW-Authenticate"] = 'Bearer realm="choque"'
        return response
    flash(str(login_manager.login_message), login_manager.login_message_category)
    here = request.full_path if request.query_string else request.path
    return redirect(url_for("accounts.login", next=safe_next(here)))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(_unauthorized)
    _remember_cookie_only_when_needed(app)


def _remember_cookie_only_when_needed(app: Flask) -> None:
    """Flask-Login refreshes the remember cookie after every request, reading the session to do
    so — which marks it read (`Vary: Cookie`, cookie settings looked up) even for a visitor
    with no cookie at all. Only a request that brought a cookie, or put something in the
    session (signing in or out), can have a remember cookie to set or clear."""
    from flask.globals import request_ctx

    update = login_manager._update_remember_cookie

    def update_remember_cookie(response):
        if "HTTP_COOKIE" in request.environ or getattr(request_ctx, "_session", True):
            return update(response)
        return response

    hooks = app.after_request_funcs[None]
    hooks[:] = [update_remember_cookie if h == update else h for h in hooks]
