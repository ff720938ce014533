"""Every setting, read from the environment inside create_app and validated at start."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from limits import parse_many

from core.numbers import is_ascii_digits

ENVIRONMENTS = ("development", "testing", "production")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the app refuses to start."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


def _psycopg_url(url: str) -> str:
    """postgres:// and postgresql:// (as hosting providers write them) use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _instance_secret(instance_path: Path) -> str:
    """Development only: a random key generated once into instance/ and reused."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


# Long on purpose: one line per setting, read and validated in one place.
def load_config(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    env = os.environ
    overrides = dict(overrides or {})
    app_env = overrides.pop("APP_ENV", None) or env.get("APP_ENV", "development")
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {app_env!r}")

    secret = overrides.pop("SECRET_KEY", None) or env.get("SECRET_KEY")
    if not secret:
        if app_env == "production":
            raise ConfigError("SECRET_KEY must be set in production (APP_ENV=production)")
        secret = _instance_secret(instance_path)
    if app_env == "production" and len(secret) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters in production")

    default_db = f"sqlite:///{instance_path / 'choque.db'}"
    database_url = _psycopg_url(env.get("DATABASE_URL") or default_db)

    redis_url = env.get("REDIS_URL", "")
    production = app_env == "production"
    config: dict[str, Any] = {
        "APP_ENV": app_env,
        "TESTING": app_env == "testing",
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # No ping before every checkout (a round trip per request on PostgreSQL): connections
        # are recycled after 10 minutes, and a request that finds one dropped (server restart)
        # is run once more on a fresh one (core/db.py: retry_after_disconnect).
        "SQLALCHEMY_ENGINE_OPTIONS": (
            {} if database_url.startswith("sqlite") else {"pool_recycle": 600}
        ),
        # A PostgreSQL read replica for anonymous public pages (core/replica.py); empty: none.
        "DATABASE_REPLICA_URL": _psycopg_url(env.get("DATABASE_REPLICA_URL", "").strip()),
        "REDIS_URL": redis_url,
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        "MEDIA_ROOT": env.get("MEDIA_ROOT") or str(instance_path / "media"),
        "MAX_UPLOAD_MB": _int("MAX_UPLOAD_MB", env.get("MAX_UPLOAD_MB"), 12),
        # Photos one account may upload (each file counts), on every upload form.
        "UPLOAD_LIMIT": env.get("UPLOAD_LIMIT", "60 per hour"),
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        # Shared by every worker: Redis when set, else a SQLite file on this host (see
        # core/limit_storage.py); never per-process memory outside tests.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI")
        or redis_url
        or f"sqlite:///{instance_path / 'ratelimits.sqlite'}",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Keys of this deployment in a Redis shared with others.
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "choque"),
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),  # Flask-Login's default is a year
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 30,
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": ("vi", "en"),
        "OTP_TTL_SECONDS": _int("OTP_TTL_SECONDS", env.get("OTP_TTL_SECONDS"), 600),
        # One-time codes sent per hour by the whole platform; past it codes pause, admins alerted.
        "OTP_HOURLY_CAP": _int("OTP_HOURLY_CAP", env.get("OTP_HOURLY_CAP"), 200),
        "SCAN_COPY_WARNING_THRESHOLD": _int(
            "SCAN_COPY_WARNING_THRESHOLD", env.get("SCAN_COPY_WARNING_THRESHOLD"), 20
        ),
        # Scans committed without waiting for the WAL flush (PostgreSQL; docs/performance.md:
        # a database crash may lose the last fraction of a second of answered scans).
        "SCAN_ASYNC_COMMIT": _bool(env.get("SCAN_ASYNC_COMMIT"), False),
        # Key of the stamp PINs' hashes (defaults to SECRET_KEY). Rotating it makes the PINs of
        # stamps already printed unverifiable: set it once, keep it.
        "STAMP_PIN_KEY": env.get("STAMP_PIN_KEY", ""),
        "SMS_GATEWAY": env.get("SMS_GATEWAY", "log"),
        # the gateway sends UCS-2: short SMS keep their diacritics (docs: README)
        "SMS_UNICODE": _bool(env.get("SMS_UNICODE"), True),
        "EMAIL_GATEWAY": env.get("EMAIL_GATEWAY", "log"),
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", ""),
        "STRIPE_API_KEY": env.get("STRIPE_API_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET", ""),
        # Stripe.js: the one script loaded from another origin, on the card page only
        "STRIPE_JS_URL": env.get("STRIPE_JS_URL", "https://js.stripe.com/v3/"),
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY", ""),
        # the platform's fee, a percentage of each producer's goods (decimal, 0 to 100)
        "PLATFORM_FEE_PERCENT": env.get("PLATFORM_FEE_PERCENT", "0"),
        "PROXY_FIX": _bool(env.get("PROXY_FIX"), False),
        # Public pages for anonymous visitors (core/pagecache.py): redis | local | off.
        "PAGE_CACHE": env.get("PAGE_CACHE", "").strip().lower()
        or ("redis" if redis_url else "local"),
        "PAGE_CACHE_PREFIX": env.get("PAGE_CACHE_PREFIX") or "choque:",
        "PAGE_MAX_AGE": _int("PAGE_MAX_AGE", env.get("PAGE_MAX_AGE"), 15),
        "PAGE_STALE_WHILE_REVALIDATE": _int(
            "PAGE_STALE_WHILE_REVALIDATE", env.get("PAGE_STALE_WHILE_REVALIDATE"), 45
        ),
        # VietQR transfers go to the platform's collecting account (demo: Co-opBank, BIN 970446).
        "VIETQR_BANK_BIN": env.get("VIETQR_BANK_BIN") or "970446",
        "VIETQR_ACCOUNT_NO": env.get("VIETQR_ACCOUNT_NO") or "1000123456",
        "VIETQR_ACCOUNT_NAME": env.get("VIETQR_ACCOUNT_NAME") or "CONG TY CHO QUE",
        # Minutes a buyer has to transfer before the order expires (flask shop expire).
        "VIETQR_PAY_MINUTES": _int("VIETQR_PAY_MINUTES", env.get("VIETQR_PAY_MINUTES"), 60),
        # Statements longer than this are imported by the background task, not in the request.
        "STATEMENT_INLINE_LINES": _int(
            "STATEMENT_INLINE_LINES", env.get("STATEMENT_INLINE_LINES"), 500
        ),
        # "Transfer received" notifications: HMAC-SHA256 key; empty refuses every notification.
        "BANK_WEBHOOK_SECRET": env.get("BANK_WEBHOOK_SECRET", ""),
        "BANK_WEBHOOK_TOLERANCE": _int(
            "BANK_WEBHOOK_TOLERANCE", env.get("BANK_WEBHOOK_TOLERANCE"), 300
        ),
    }
    config["MAX_CONTENT_LENGTH"] = (config["MAX_UPLOAD_MB"] + 4) * 1024 * 1024
    if config["TESTING"]:
        config["RATELIMIT_STORAGE_URI"] = "memory://"
        config["PAGE_CACHE"] = "off"  # tests that want it ask for it
    config.update(overrides)
    try:
        parse_many(str(config["UPLOAD_LIMIT"]))
    except ValueError as exc:
        raise ConfigError(
            f"UPLOAD_LIMIT must read like '60 per hour', got {config['UPLOAD_LIMIT']!r}"
        ) from exc
    if production and str(config["RATELIMIT_STORAGE_URI"]).startswith("memory"):
        raise ConfigError(
            "RATELIMIT_STORAGE_URI=memory:// keeps limits per process (each gunicorn worker would"
            " allow the full limit): set REDIS_URL, or leave it empty for the shared SQLite file"
        )
    _check_page_cache(config)
    _check_replica(config)
    _check_payments(config)
    _check_vietqr(config)
    if not str(config["PUBLIC_BASE_URL"]).startswith(("http://", "https://")):
        raise ConfigError("PUBLIC_BASE_URL must start with http:// or https://")
    return config


def _check_payments(config: dict[str, Any]) -> None:
    try:
        fee = Decimal(str(config["PLATFORM_FEE_PERCENT"]).strip() or "0")
    except InvalidOperation as exc:
        raise ConfigError("PLATFORM_FEE_PERCENT must be a number such as 2.5") from exc
    if not fee.is_finite() or not 0 <= fee <= 100:
        raise ConfigError("PLATFORM_FEE_PERCENT must be between 0 and 100")
    config["PLATFORM_FEE_PERCENT"] = fee
    for name in ("STRIPE_API_BASE", "STRIPE_JS_URL"):
        value = str(config[name] or "")
        if value and not value.startswith(("http://", "https://")):
            raise ConfigError(f"{name} must start with http:// or https://")
    card = config["STRIPE_API_KEY"]
    if card and not config["STRIPE_WEBHOOK_SECRET"]:
        raise ConfigError("STRIPE_API_KEY needs STRIPE_WEBHOOK_SECRET (webhooks mark orders paid)")
    if card and not str(config["STRIPE_PUBLISHABLE_KEY"]).startswith("pk_"):
        raise ConfigError("STRIPE_API_KEY needs STRIPE_PUBLISHABLE_KEY (pk_…) for Stripe.js")


def _check_page_cache(config: dict[str, Any]) -> None:
    if config["PAGE_CACHE"] not in ("redis", "local", "off"):
        raise ConfigError(f"PAGE_CACHE must be redis, local or off, got {config['PAGE_CACHE']!r}")
    if config["PAGE_CACHE"] == "redis" and not config["REDIS_URL"]:
        raise ConfigError("PAGE_CACHE=redis needs REDIS_URL")


def _check_replica(config: dict[str, Any]) -> None:
    replica = str(config.get("DATABASE_REPLICA_URL") or "")
    if not replica:
        return
    if not replica.startswith("postgresql"):
        raise ConfigError("DATABASE_REPLICA_URL must be a PostgreSQL URL (postgresql://…)")
    if not str(config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        raise ConfigError("DATABASE_REPLICA_URL needs DATABASE_URL on PostgreSQL (the primary)")


def _check_vietqr(config: dict[str, Any]) -> None:
    bank_bin, account = str(config["VIETQR_BANK_BIN"]), str(config["VIETQR_ACCOUNT_NO"])
    if len(bank_bin) != 6 or not is_ascii_digits(bank_bin):
        raise ConfigError(f"VIETQR_BANK_BIN must be the bank's 6-digit BIN, got {bank_bin!r}")
    if not (0 < len(account) <= 19 and account.isascii() and account.isalnum()):
        raise ConfigError("VIETQR_ACCOUNT_NO must be 1-19 letters or digits")
    if config["VIETQR_PAY_MINUTES"] < 5 or config["BANK_WEBHOOK_TOLERANCE"] < 1:
        raise ConfigError("VIETQR_PAY_MINUTES must be ≥ 5 and BANK_WEBHOOK_TOLERANCE ≥ 1")
