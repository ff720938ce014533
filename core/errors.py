"""DomainError hierarchy and the one handler that renders HTML or application/problem+json."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    render_template_string,
    request,
)
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError, PendingRollbackError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
JSON_TYPES = (
    "application/json",
    PROBLEM_JSON,
    "application/ld+json",
    "application/linkset+json",
)


class DomainError(Exception):
    """A business rule refused the operation. `message` is shown to the user as is."""

    status = 400
    code = "error"
    default_message = _l("Yêu cầu không hợp lệ.")

    def __init__(
        self,
        message: Any = None,
        *,
        fields: dict[str, Any] | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.fields = dict(fields or {})
        if code:
            self.code = code
        super().__init__(str(self.message))


class Invalid(DomainError):
    status = 422
    code = "invalid"
    default_message = _l("Thông tin chưa hợp lệ, vui lòng kiểm tra lại.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _l("Không tìm thấy.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = _l("Bạn không có quyền làm việc này.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _l("Dữ liệu đã thay đổi hoặc đã tồn tại.")


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_message = _l("Không đủ hàng.")


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    default_message = _l("Bạn thử quá nhiều lần. Vui lòng đợi một lát rồi thử lại.")


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    # The resolver's JSON-LD and linkset clients are JSON clients too: their errors are JSON.
    best = request.accept_mimetypes.best_match(["text/html", *JSON_TYPES])
    return best in JSON_TYPES


def problem(status: int, title: str, detail: str = "", code: str = "", **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": f"about:blank#{code}" if code else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def _render(status: int, title: str, detail: str, code: str, fields: dict[str, Any] | None = None):
    if wants_json():
        return problem(status, title, detail, code, errors=fields or None)
    html = render_template("core/error.html", status=status, title=title, detail=detail)
    return html, status


_BARE_PAGE = """<!doctype html>
<html lang="{{ current_locale() if current_locale is defined else 'vi' }}">
<head><meta charset="utf-8"><title>Chợ Quê</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>{{ title }}</h1><p><a href="/">Chợ Quê</a></p></main></body></html>
"""


def _database_errors() -> tuple[type[Exception], ...]:
    # A connection that died mid-request surfaces as OperationalError, InterfaceError ("the
    # connection is closed") or, on the next use of the failed transaction, PendingRollbackError.
    errors: list[type[Exception]] = [
        OperationalError,
        InterfaceError,
        PendingRollbackError,
        sqlite3.OperationalError,
    ]
    try:
        import psycopg

        errors.extend([psycopg.OperationalError, psycopg.InterfaceError])
    except ImportError:  # pragma: no cover - SQLite-only installs
        pass
    return tuple(errors)


DATABASE_UNAVAILABLE = _database_errors()


def _rollback_quietly() -> None:
    """Roll the request's work back; on a dead connection, drop it (the pool makes a new one)."""
    from core.db import db

    try:
        db.session.rollback()
    except Exception:  # the connection is gone: nothing was written, nothing to roll back
        db.session().invalidate()  # the Session itself: scoped_session does not proxy it


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        # A unit of work that raised must leave the database as it was.
        from core.db import db

        db.session.rollback()
        return _render(error.status, str(error.message), "", error.code, error.fields)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        title = str(_l("Phiên làm việc đã hết hạn. Vui lòng tải lại trang và gửi lại."))
        return _render(400, title, "", "csrf")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        titles = {
            400: _l("Yêu cầu không hợp lệ."),
            401: _l("Vui lòng đăng nhập."),
            403: _l("Bạn không có quyền xem trang này."),
            404: _l("Không tìm thấy trang này."),
            405: _l("Phương thức không được hỗ trợ."),
            413: _l("Tệp quá lớn."),
            429: _l("Bạn thử quá nhiều lần. Vui lòng đợi một lát rồi thử lại."),
        }
        title = str(titles.get(status, error.name))
        response = _render(status, title, "", error.name.lower().replace(" ", "_"))
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            resp = current_app.make_response(response)
            resp.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
            return resp
        return response

    def _database_unavailable(error: Exception):
        # The database went away (server restart, network) or stayed locked past the timeout:
        # nothing of this request was written; say so and when to retry, not a bare 500.
        log.warning("database unavailable: %s", getattr(error, "orig", error))
        _rollback_quietly()
        manager = getattr(current_app, "login_manager", None)
        if manager is not None:  # render the page without loading the user from the database
            g._login_user = manager.anonymous_user()
        title = str(
            _l(
                "Chợ Quê tạm thời không kết nối được cơ sở dữ liệu. Chưa có gì được lưu; "
                "vui lòng thử lại sau ít phút."
            )
        )
        if wants_json():
            body = problem(503, title, "", "database_unavailable")
        else:  # a bare page: the site's layout reads the database (menus, the helper banner)
            body = (render_template_string(_BARE_PAGE, title=title), 503)
        response = current_app.make_response(body)
        response.headers["Retry-After"] = "30"
        return response

    # SQLAlchemy wraps driver errors; the scan page's raw cursor raises the driver's own.
    for unavailable in DATABASE_UNAVAILABLE:
        app.register_error_handler(unavailable, _database_unavailable)

    @app.errorhandler(500)
    def _server_error(error: Exception):
        _rollback_quietly()
        title = str(_l("Đã có lỗi ở máy chủ. Dữ liệu của bạn chưa bị thay đổi; vui lòng thử lại."))
        return _render(500, title, "", "server_error")
