"""One-time codes for sign-in, registration and password reset.

Six random digits, stored only as HMAC-SHA256 keyed with SECRET_KEY (bound to destination and
purpose), valid OTP_TTL_SECONDS, at most MAX_ATTEMPTS guesses, one live code per destination and
purpose. The code travels only through the outbox, written in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update

from accounts.identifiers import Identifier
from accounts.models import OneTimeCode
from accounts.outbox import SMS, queue_message
from core.db import db, utcnow
from core.errors import Invalid
from core.numbers import is_ascii_digits

LOGIN = "login"
REGISTER = "register"
RESET = "reset"
CHANGE = "change"  # a new phone number or e-mail for a signed-in account
PURPOSES = (LOGIN, REGISTER, RESET, CHANGE)
CODE_LENGTH = 6
MAX_ATTEMPTS = 5


class CodeRejected(Invalid):
    """A wrong, expired or burned code. The attempt counter has changed: the caller commits it."""


def _digest(destination: str, purpose: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{purpose}:{destination}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _message(purpose: str, code: str, minutes: int) -> tuple[str, str]:
    if purpose == LOGIN:
        subject = _("Mã đăng nhập Chợ Quê")
        body = _("Chợ Quê: mã đăng nhập của bạn là %(code)s.", code=code)
    elif purpose == REGISTER:
        subject = _("Mã xác nhận đăng ký Chợ Quê")
        body = _("Chợ Quê: mã xác nhận đăng ký của bạn là %(code)s.", code=code)
    elif purpose == CHANGE:
        subject = _("Mã xác nhận địa chỉ mới Chợ Quê")
        body = _("Chợ Quê: mã xác nhận địa chỉ liên hệ mới của bạn là %(code)s.", code=code)
    else:
        subject = _("Mã đặt lại mật khẩu Chợ Quê")
        body = _("Chợ Quê: mã đặt lại mật khẩu của bạn là %(code)s.", code=code)
    body += " " + _(
        "Mã dùng được trong %(minutes)d phút. Không đưa mã này cho bất kỳ ai.", minutes=minutes
    )
    return subject, body


def _sms(purpose: str, code: str, minutes: int) -> str:
    """Short enough for one SMS with its diacritics (70 UCS-2 characters)."""
    if purpose == LOGIN:
        text = _("Mã đăng nhập Chợ Quê: %(code)s, dùng trong %(minutes)d phút. Đừng đưa ai.")
    elif purpose == REGISTER:
        text = _("Mã đăng ký Chợ Quê: %(code)s, dùng trong %(minutes)d phút. Đừng đưa ai.")
    elif purpose == CHANGE:
        text = _("Mã xác nhận số mới Chợ Quê: %(code)s, dùng trong %(minutes)d phút. Đừng đưa ai.")
    else:
        text = _("Mã đặt lại mật khẩu Chợ Quê: %(code)s, dùng trong %(minutes)d phút. Đừng đưa ai.")
    return text % {"code": code, "minutes": minutes}


def issue_code(identifier: Identifier, purpose: str) -> OneTimeCode:
    """Create a code for `identifier` and queue it in the outbox; earlier live codes die."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    now = utcnow()
    db.session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.destination == identifier.value,
            OneTimeCode.purpose == purpose,
            OneTimeCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    ttl = int(current_app.config["OTP_TTL_SECONDS"])
    record = OneTimeCode(
        destination=identifier.value,
        purpose=purpose,
        code_hash=_digest(identifier.value, purpose, code),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    db.session.add(record)
    minutes = max(1, ttl // 60)
    subject, body = _message(purpose, code, minutes)
    if identifier.channel == SMS:
        body = _sms(purpose, code, minutes)
    queue_message(identifier.channel, identifier.value, body, subject)
    db.session.flush()
    return record


def clean_code(text: str | None) -> str:
    code = "".join(ch for ch in (text or "") if not ch.isspace())
    if len(code) != CODE_LENGTH or not is_ascii_digits(code):
        message = _l("Mã gồm %(n)d chữ số.", n=CODE_LENGTH)
        raise Invalid(message, fields={"code": message})
    return code


def verify_code(destination: str, purpose: str, text: str | None) -> OneTimeCode:
    """Accept the newest live code for destination/purpose once; CodeRejected otherwise.

    Every guess is counted before comparing, in one conditional UPDATE, so parallel guesses
    cannot exceed MAX_ATTEMPTS; the fifth wrong guess burns the code.
    """
    code = clean_code(text)
    record = db.session.scalar(
        select(OneTimeCode)
        .where(
            OneTimeCode.destination == destination,
            OneTimeCode.purpose == purpose,
            OneTimeCode.used_at.is_(None),
        )
        .order_by(OneTimeCode.id.desc())
        .limit(1)
    )
    gone = _l("Mã đã hết hạn hoặc không còn dùng được. Vui lòng bấm “Gửi lại mã”.")
    if record is None or record.expires_at <= utcnow() or record.attempts >= MAX_ATTEMPTS:
        raise CodeRejected(gone, fields={"code": gone})
    attempts = db.session.scalar(
        update(OneTimeCode)
        .where(
            OneTimeCode.id == record.id,
            OneTimeCode.used_at.is_(None),
            OneTimeCode.attempts < MAX_ATTEMPTS,
        )
        .values(attempts=OneTimeCode.attempts + 1)
        .returning(OneTimeCode.attempts)
        .execution_options(synchronize_session=False)
    )
    if attempts is None:
        raise CodeRejected(gone, fields={"code": gone})
    if hmac.compare_digest(record.code_hash, _digest(destination, purpose, code)):
        used = db.session.execute(
            update(OneTimeCode)
            .where(OneTimeCode.id == record.id, OneTimeCode.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if used.rowcount == 1:  # type: ignore[attr-defined]
            db.session.expire(record)
            return record
        raise CodeRejected(gone, fields={"code": gone})
    db.session.expire(record)
    left = MAX_ATTEMPTS - attempts
    if left <= 0:
        message = _l(
            "Mã sai quá %(n)d lần nên đã bị khoá. Vui lòng bấm “Gửi lại mã”.", n=MAX_ATTEMPTS
        )
    else:
        message = _l("Mã không đúng. Bạn còn %(n)d lần thử.", n=left)
    raise CodeRejected(message, fields={"code": message})


def purge_codes(older_than: timedelta = timedelta(days=1)) -> int:
    """Delete codes expired or used more than `older_than` ago (their hashes help no one);
    the caller's unit of work commits. Returns how many went."""
    cutoff = utcnow() - older_than
    result = db.session.execute(
        delete(OneTimeCode)
        .where(or_(OneTimeCode.expires_at < cutoff, OneTimeCode.used_at < cutoff))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
