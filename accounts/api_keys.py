"""Partner API keys: `cq_<prefix>_<secret>`, shown once, stored as SHA-256 of the whole key.

A partner sends `Authorization: Bearer cq_…`; views protected by `@require_api_key("scope")`
find the key on `flask.g.api_key`. Failures answer 401/403 application/problem+json.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from flask_babel import lazy_gettext as _l
from limits import parse as parse_limit
from sqlalchemy import or_, select, update

from accounts import audit
from accounts.identifiers import printable
from accounts.models import ApiKey
from core.db import db, unit_of_work, utcnow
from core.errors import Conflict, DomainError, Invalid, NotFound, RateLimited, problem
from core.security import limiter

F = TypeVar("F", bound=Callable[..., Any])

KEY_PREFIX = "cq"
PREFIX_LENGTH = 8
SECRET_LENGTH = 40  # base62: about 238 bits
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits
_KEY = re.compile(rf"^{KEY_PREFIX}_([a-z0-9]{{{PREFIX_LENGTH}}})_([A-Za-z0-9]{{{SECRET_LENGTH}}})$")
_SCOPE = re.compile(r"^[a-z][a-z0-9_-]{0,30}(?::[a-z][a-z0-9_-]{0,30})?$")
LAST_USED_PRECISION = timedelta(minutes=1)
DEFAULT_RATE_LIMIT = "600/minute"
MAX_OVERLAP = timedelta(days=90)
_RATE = re.compile(r"^[1-9][0-9]{0,6}/(second|minute|hour|day)$")

# Scopes that higher packages offer (register_scope in their init_app); shown as a hint to admins.
KNOWN_SCOPES: dict[str, Any] = {}


def register_scope(name: str, description: Any) -> None:
    if not _SCOPE.match(name):
        raise ValueError(f"malformed scope {name!r}")
    KNOWN_SCOPES[name] = description


class ApiKeyRejected(DomainError):
    status = 401
    code = "invalid_api_key"
    default_message = _l("Thiếu khoá API hoặc khoá không hợp lệ.")


class ScopeMissing(DomainError):
    status = 403
    code = "insufficient_scope"
    default_message = _l("Khoá API này không có quyền cho việc này.")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def clean_scopes(scopes: Iterable[str] | str) -> list[str]:
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    result: list[str] = []
    for scope in scopes:
        scope = scope.strip().lower()
        if not scope:
            continue
        if not _SCOPE.match(scope):
            message = _l("Quyền “%(scope)s” không hợp lệ. Ví dụ: catalog:read", scope=scope[:40])
            raise Invalid(message, fields={"scopes": message})
        if scope not in result:
            result.append(scope)
    if not result:
        message = _l("Vui lòng nhập ít nhất một quyền.")
        raise Invalid(message, fields={"scopes": message})
    if len(result) > 20:
        message = _l("Tối đa 20 quyền cho một khoá.")
        raise Invalid(message, fields={"scopes": message})
    return result


def clean_rate_limit(value: str | None) -> str | None:
    """A per-key limit such as `600/minute`, or None for the default."""
    value = (value or "").strip().lower().replace(" per ", "/")
    if not value:
        return None
    if not _RATE.match(value):
        message = _l("Giới hạn không hợp lệ. Ví dụ: 600/minute")
        raise Invalid(message, fields={"rate_limit": message})
    return value


def create_api_key(
    name: str,
    scopes: Iterable[str] | str,
    *,
    owner_id: int | None = None,
    actor_id: int | None = None,
    rate_limit: str | None = None,
    plain: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns (row, plain key). The plain key is never stored or shown again.
    `plain` is for published demo keys only (`make run` prints one); real keys are random."""
    name = printable(name)
    if not name or len(name) > 120:
        message = _l("Tên đối tác cần từ 1 đến 120 ký tự.")
        raise Invalid(message, fields={"name": message})
    scope_list = clean_scopes(scopes)
    rate_limit = clean_rate_limit(rate_limit)
    fixed = _KEY.match(plain) if plain else None
    if plain and fixed is None:
        raise ValueError("malformed fixed key")
    for _attempt in range(5):
        if fixed is not None:
            prefix = fixed.group(1)
            break
        prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        if db.session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            break
    else:  # pragma: no cover - 36^8 prefixes
        raise Conflict()
    if plain is None:
        secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
        plain = f"{KEY_PREFIX}_{prefix}_{secret}"
    key = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=_digest(plain),
        scopes=scope_list,
        owner_id=owner_id,
        rate_limit=rate_limit,
    )
    db.session.add(key)
    db.session.flush()
    audit.record(
        actor_id,
        "api_key_created",
        subject_type="api_key",
        subject_id=key.id,
        summary=f"Tạo khoá API {prefix} cho {name}",
        details={"prefix": prefix, "scopes": scope_list},
    )
    return key, plain


def revoke_api_key(key_id: int, *, actor_id: int | None = None) -> ApiKey:
    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound()
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(
            actor_id,
            "api_key_revoked",
            subject_type="api_key",
            subject_id=key.id,
            summary=f"Thu hồi khoá API {key.prefix} của {key.name}",
            details={"prefix": key.prefix},
        )
    return key


def rotate_api_key(
    key_id: int, *, overlap: timedelta = timedelta(days=7), actor_id: int | None = None
) -> tuple[ApiKey, str]:
    """A new key with the same name, scopes and limit; the old one keeps working for `overlap`
    (so the partner can deploy the new one), then stops. Returns (new row, plain key)."""
    old = db.session.get(ApiKey, key_id)
    if old is None:
        raise NotFound()
    if not is_live(old):
        raise Conflict(_l("Khoá này đã bị thu hồi hoặc hết hạn, không thể xoay vòng."))
    overlap = max(timedelta(0), min(overlap, MAX_OVERLAP))
    new, plain = create_api_key(
        old.name, old.scopes, owner_id=old.owner_id, actor_id=actor_id, rate_limit=old.rate_limit
    )
    ends = utcnow() + overlap
    if old.expires_at is None or old.expires_at > ends:
        old.expires_at = ends
    audit.record(
        actor_id,
        "api_key_rotated",
        subject_type="api_key",
        subject_id=old.id,
        summary=f"Xoay vòng khoá API {old.prefix} → {new.prefix}",
        details={"old": old.prefix, "new": new.prefix, "overlap_seconds": overlap.total_seconds()},
    )
    return new, plain


def is_live(key: ApiKey) -> bool:
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > utcnow())


def list_api_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))


def authenticate_api_key(authorization: str | None) -> ApiKey:
    """The live key presented as `Bearer cq_…`; ApiKeyRejected otherwise."""
    scheme, _sep, token = (authorization or "").strip().partition(" ")
    match = _KEY.match(token.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        raise ApiKeyRejected()
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == match.group(1)))
    presented = _digest(token.strip())
    if key is None:
        hmac.compare_digest(presented, presented)  # same work as a known prefix
        raise ApiKeyRejected()
    if not hmac.compare_digest(key.key_hash, presented):
        raise ApiKeyRejected()
    if key.revoked_at is not None:
        raise ApiKeyRejected(_l("Khoá API này đã bị thu hồi."))
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise ApiKeyRejected(_l("Khoá API này đã hết hạn sau khi xoay vòng; hãy dùng khoá mới."))
    return key


def hit_rate_limit(key: ApiKey) -> bool:
    """Count one request against the key's own limit (shared storage: Redis when REDIS_URL is
    set). False when the key is over its limit."""
    from flask import current_app

    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    item = parse_limit(key.rate_limit or DEFAULT_RATE_LIMIT)
    return limiter.limiter.hit(item, "api_key", key.prefix)


def touch_last_used(key: ApiKey) -> bool:
    """Record use at most once a minute per key (one conditional UPDATE across all workers)."""
    now = utcnow()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_PRECISION:
        return False
    result = db.session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key.id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_PRECISION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(key, ["last_used_at"])
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _problem(error: DomainError):
    response = problem(error.status, str(error.message), code=error.code)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer realm="choque", error="{error.code}"'
    return response


def require_api_key(scope: str) -> Callable[[F], F]:
    """Decorator for partner endpoints: a live key with `scope`, else 401/403 problem+json.

    The view runs inside the request's unit of work with the key's last use noted (at most once
    a minute), so read-only views need not open one; an error in the view rolls both back.
    API blueprints are CSRF-exempt by their owners.
    """
    if not _SCOPE.match(scope):
        raise ValueError(f"malformed scope {scope!r}")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                key = authenticate_api_key(request.headers.get("Authorization"))
            except ApiKeyRejected as error:
                return _problem(error)
            if scope not in (key.scopes or []):
                return _problem(ScopeMissing())
            if not hit_rate_limit(key):
                response = _problem(RateLimited(_l("Khoá API này đã vượt giới hạn số yêu cầu.")))
                response.headers["Retry-After"] = "60"
                return response
            with unit_of_work():
                touch_last_used(key)
                g.api_key = key
                return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
