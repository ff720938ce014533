"""Passwords: Argon2id hashes, verification, and rehashing when the parameters change."""

from __future__ import annotations

import contextlib
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import lazy_gettext as _l

from accounts.models import User
from core.errors import Invalid

MIN_LENGTH = 8
MAX_LENGTH = 256  # Argon2 accepts any length; a cap keeps a huge body from costing CPU

# argon2-cffi defaults (RFC 9106 low-memory profile); a deployment may tune them in config.
DEFAULTS = {"ARGON2_TIME_COST": 3, "ARGON2_MEMORY_COST": 65536, "ARGON2_PARALLELISM": 4}


@cache
def _hasher_for(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher() -> PasswordHasher:
    config = current_app.config
    return _hasher_for(*(int(config.get(name, default)) for name, default in DEFAULTS.items()))


@cache
def _dummy_hash() -> str:
    # Checked when there is no user: an unknown identifier costs as much as a wrong password.
    return PasswordHasher().hash("choque-no-such-user")


def check_strength(password: str | None, field: str = "password") -> str:
    """Return the password if acceptable, else raise Invalid with a message for `field`."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise Invalid(
            _l("Mật khẩu cần ít nhất %(n)d ký tự.", n=MIN_LENGTH),
            fields={field: _l("Mật khẩu cần ít nhất %(n)d ký tự.", n=MIN_LENGTH)},
        )
    if len(password) > MAX_LENGTH:
        raise Invalid(
            _l("Mật khẩu quá dài (tối đa %(n)d ký tự).", n=MAX_LENGTH),
            fields={field: _l("Mật khẩu quá dài (tối đa %(n)d ký tự).", n=MAX_LENGTH)},
        )
    if not password.strip():
        message = _l("Mật khẩu không được chỉ gồm dấu cách.")
        raise Invalid(message, fields={field: message})
    return password


def hash_password(password: str, field: str = "password") -> str:
    return hasher().hash(check_strength(password, field))


def verify_password(user: User | None, password: str | None) -> bool:
    """True if `password` is the user's. Upgrades the stored hash when the parameters changed
    (the caller's commit saves it). Costs the same time whether or not the user exists."""
    password = password or ""
    if len(password) > MAX_LENGTH:
        return False
    stored = user.password_hash if user is not None else None
    if not stored:
        with contextlib.suppress(VerificationError):
            PasswordHasher().verify(_dummy_hash(), password)
        return False
    current = hasher()
    try:
        current.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if current.check_needs_rehash(stored):
        user.password_hash = current.hash(password)  # type: ignore[union-attr]
    return True


def set_password(user: User, password: str, field: str = "password") -> None:
    """Set a new password and end every other session of this user."""
    user.password_hash = hash_password(password, field)
    user.session_version = (user.session_version or 1) + 1
