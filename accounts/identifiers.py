"""What a person types to sign in: a Vietnamese mobile number or an e-mail address."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.models import User
from core.db import db
from core.errors import Invalid
from core.phones import display_phone, is_mobile, normalize_phone
from core.text import clean, fold

PHONE = "phone"
EMAIL = "email"

_EMAIL = re.compile(r"^[^@\s]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]{1,63})+$")


@dataclass(frozen=True)
class Identifier:
    kind: str  # phone | email
    value: str  # E.164 for phones, lower-case for e-mail

    @property
    def channel(self) -> str:
        return "sms" if self.kind == PHONE else "email"

    @property
    def display(self) -> str:
        return display_phone(self.value) if self.kind == PHONE else self.value


def printable(text: str | None) -> str:
    """clean() without control characters (PostgreSQL refuses NUL; nobody types them)."""
    return clean("".join(ch for ch in (text or "") if unicodedata.category(ch) != "Cc"))


def normalize_email(text: str | None) -> str | None:
    value = printable(text).lower()
    if len(value) > 254 or not _EMAIL.match(value):
        return None
    return value


def parse_identifier(
    text: str | None, field: str = "identifier", *, mobile_only: bool = False
) -> Identifier:
    """'0912 345 678', '+84912345678' or 'lan@example.vn' -> Identifier; Invalid otherwise."""
    raw = printable(text)
    if not raw:
        message = _l("Vui lòng nhập số điện thoại hoặc e-mail.")
        raise Invalid(message, fields={field: message})
    if "@" in raw:
        email = normalize_email(raw)
        if email is None:
            message = _l("E-mail chưa đúng. Ví dụ: ten@example.vn")
            raise Invalid(message, fields={field: message})
        return Identifier(EMAIL, email)
    phone = normalize_phone(raw)
    if phone is None:
        message = _l("Số điện thoại chưa đúng. Ví dụ: 0912 345 678")
        raise Invalid(message, fields={field: message})
    if mobile_only and not is_mobile(phone):
        message = _l("Vui lòng nhập số di động để nhận mã qua tin nhắn.")
        raise Invalid(message, fields={field: message})
    return Identifier(PHONE, phone)


def rate_limit_key(text: str | None) -> str:
    """The same key for every spelling of one destination ('0912…' and '+84912…')."""
    raw = printable(text)
    if "@" in raw:
        return normalize_email(raw) or fold(raw)[:254]
    return normalize_phone(raw) or fold(raw)[:64]


def find_user(identifier: Identifier) -> User | None:
    column = User.phone if identifier.kind == PHONE else User.email
    return db.session.scalar(select(User).where(column == identifier.value))
