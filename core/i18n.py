"""Locale (Vietnamese first), time zone Asia/Ho_Chi_Minh, money and date filters."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from flask import Flask, Response, current_app, g, has_request_context, request, session
from flask_babel import Babel, format_date, format_datetime, get_locale, get_translations

from core.money import format_vnd

babel = Babel()
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@cache
def _locale(code: str) -> Locale:
    """Parsed once per process: Flask-Babel parses the selector's answer on every request
    (≈ 9 µs, a file-system check included) unless it is a Locale already."""
    return Locale.parse(code)


def select_locale() -> Locale:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return _locale(current_app.config["BABEL_DEFAULT_LOCALE"])
    asked = request.args.get("lang") if request.query_string else None
    chosen = asked or session.get("lang") or request.cookies.get("lang")
    if chosen in languages:
        return _locale(chosen)
    return _locale(current_app.config["BABEL_DEFAULT_LOCALE"])


LANG_COOKIE = "lang"
LANG_COOKIE_AGE = 31536000
_NOT_CARRYING_LANG = frozenset({"static", "core.media", "core.set_language"})


def remember_language(response: Response, code: str) -> None:
    """The one place a choice of language is kept: a year-long cookie (no session is created,
    so the scan page's anonymous fast path stays open) and the session when there is one."""
    if request.cookies.get(LANG_COOKIE) != code:
        response.set_cookie(
            LANG_COOKIE, code, max_age=LANG_COOKIE_AGE, samesite="Lax", httponly=True
        )
    if session.get("_user_id") and session.get("lang") != code:
        session["lang"] = code


def _remember_chosen_language(response: Response) -> Response:
    """A `?lang=` followed from anywhere (the scan page, a shared link) is remembered too."""
    if not request.query_string:  # most requests: no arguments to parse (a miss on empty args
        return response  # raises and catches a KeyError inside werkzeug)
    chosen = request.args.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        remember_language(response, chosen)
    return response


def carried_language() -> str | None:
    """The `?lang=` of this request when the browser did not send it back as a cookie (a
    first visit, or a browser that keeps no cookies): links of the page carry it on."""
    if not has_request_context():
        return None
    chosen = request.args.get("lang")
    if chosen in current_app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != chosen:
        return chosen
    return None


def _carry_language(endpoint: str, values: dict[str, Any]) -> None:
    """Every link of a page reached with a `?lang=` not yet remembered keeps it (never static
    files: their addresses are cached for a year)."""
    if endpoint in _NOT_CARRYING_LANG or "lang" in values or "api" in endpoint.split(".")[0]:
        return  # nor the JSON API
    chosen = carried_language()
    if chosen is not None:
        values["lang"] = chosen


def current_locale() -> str:
    locale = get_locale()
    return str(locale) if locale else "vi"


def money(amount: int | None) -> str:
    if amount is None:
        return ""
    return format_vnd(amount)


def local_date(value: date | datetime | None, fmt: str = "short") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TZ).date()
    if fmt == "short":
        return value.strftime("%d/%m/%Y")
    return format_date(value, fmt)


def local_datetime(value: datetime | None, fmt: str = "short") -> str:
    if value is None:
        return ""
    if fmt == "short":
        return value.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
    return format_datetime(value, fmt)


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()


def request_translations() -> Any:
    """Flask-Babel's translations, looked up once per request instead of once per string."""
    translations = g.get("_translations")
    if translations is None:
        translations = g._translations = get_translations()
    return translations


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path.rstrip("/") + "/../translations"),
    )
    # Same callables as Flask-Babel installs, without its per-string locale look-up.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
    )
    app.after_request(_remember_chosen_language)
    app.url_defaults(_carry_language)
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["date"] = local_date
    app.jinja_env.filters["datetime"] = local_datetime
    app.jinja_env.globals["current_locale"] = current_locale
