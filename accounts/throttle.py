"""Progressive back-off on an account's password, and the platform-wide cap on codes sent.

Back-off: after FREE_FAILURES wrong passwords in a row for one account (from any address), each
further try must wait twice as long as the last: 30 s, 1 min, 2 min … at most 15 min. During the
wait even the right password is refused; signing in with a code sent by SMS still works. A right
password clears the count. The counts live in the rate-limit storage (shared by every worker).

Cap: at most OTP_HOURLY_CAP one-time codes leave the platform per hour (SMS cost a real sum;
"SMS pumping" sends thousands to premium numbers). Past it codes pause for everyone and the
platform admins are alerted once an hour (log, audit entry, outbox message).
"""

from __future__ import annotations

import logging
import math
import time
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, insert, select

from accounts.models import AuditEntry, OneTimeCode, OutboxMessage, User
from accounts.outbox import sms_text
from core.db import db, utcnow
from core.errors import Invalid
from core.security import limiter

log = logging.getLogger(__name__)

FREE_FAILURES = 5
BASE_DELAY = 30
MAX_DELAY = 15 * 60
FAILURE_MEMORY = 24 * 60 * 60
CAP_ALERT = "otp.hourly_cap_reached"


class TooManyTries(Invalid):
    status = 429
    code = "rate_limited"


def _storage():
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    return limiter.storage


def _keys(account: str) -> tuple[str, str]:
    return f"choque/pw-fail/{account}", f"choque/pw-wait/{account}"


def delay_for(failures: int) -> int:
    """Seconds to wait after `failures` wrong passwords in a row (0 while still free)."""
    if failures < FREE_FAILURES:
        return 0
    return min(BASE_DELAY * 2 ** (failures - FREE_FAILURES), MAX_DELAY)


def check_password_allowed(account: str) -> None:
    """TooManyTries while the account's back-off runs."""
    storage = _storage()
    if storage is None or not account:
        return
    _fails, wait_key = _keys(account)
    if storage.get(wait_key) <= 0:
        return
    seconds = max(1, math.ceil(storage.get_expiry(wait_key) - time.time()))
    minutes = math.ceil(seconds / 60)
    message = ngettext(
        "Đã nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau %(minutes)d phút, "
        "hoặc đăng nhập bằng mã gửi qua tin nhắn.",
        "Đã nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau %(minutes)d phút, "
        "hoặc đăng nhập bằng mã gửi qua tin nhắn.",
        minutes,
        minutes=minutes,
    )
    raise TooManyTries(message, fields={"password": message})


def password_failed(account: str) -> None:
    storage = _storage()
    if storage is None or not account:
        return
    fail_key, wait_key = _keys(account)
    failures = storage.incr(fail_key, FAILURE_MEMORY)
    delay = delay_for(failures)
    if delay:
        storage.clear(wait_key)
        storage.incr(wait_key, delay)


def password_succeeded(account: str) -> None:
    storage = _storage()
    if storage is None or not account:
        return
    for key in _keys(account):
        storage.clear(key)


# --- the platform-wide cap on one-time codes ---------------------------------------------------


def codes_sent_last_hour() -> int:
    since = utcnow() - timedelta(hours=1)
    return db.session.scalar(
        select(func.count(OneTimeCode.id)).where(OneTimeCode.created_at > since)
    )


def check_code_capacity() -> None:
    """Invalid (and an alert to the admins) once OTP_HOURLY_CAP codes went out in the last hour."""
    cap = int(current_app.config.get("OTP_HOURLY_CAP", 0) or 0)
    if cap <= 0:
        return
    sent = codes_sent_last_hour()
    if sent < cap:
        return
    _alert_admins(sent, cap)
    message = _l(
        "Chợ Quê tạm ngừng gửi mã vì có quá nhiều yêu cầu. Vui lòng thử lại sau ít phút, "
        "hoặc đăng nhập bằng mật khẩu."
    )
    raise TooManyTries(message, fields={"identifier": message})


def _alert_admins(sent: int, cap: int) -> None:
    """Log, audit and queue a message to every admin, once an hour.

    Written on a connection of its own: the refused request rolls its own work back, the
    alert must stay."""
    log.error("one-time codes paused: %s sent in the last hour (cap %s)", sent, cap)
    now = utcnow()
    with db.engine.begin() as connection:
        recent = connection.scalar(
            select(AuditEntry.id)
            .where(AuditEntry.action == CAP_ALERT, AuditEntry.at > now - timedelta(hours=1))
            .limit(1)
        )
        if recent is not None:
            return
        summary = _(
            "Tạm ngừng gửi mã: %(sent)d mã trong một giờ qua (giới hạn %(cap)d).",
            sent=sent,
            cap=cap,
        )
        connection.execute(
            insert(AuditEntry).values(
                at=now,
                actor_role="system",
                action=CAP_ALERT,
                subject_type="platform",
                summary=summary,
                details={"sent": sent, "cap": cap},
            )
        )
        admins = connection.execute(
            select(User.email, User.phone).where(User.is_platform_admin, User.active)
        ).all()
        body = (
            "Chợ Quê: "
            + summary
            + " "
            + _("Có thể đang bị lạm dụng gửi SMS; xem nhật ký và danh sách đăng ký mới.")
        )
        for email, phone in admins:
            channel, recipient = ("email", email) if email else ("sms", phone)
            connection.execute(
                insert(OutboxMessage).values(
                    channel=channel,
                    recipient=recipient,
                    subject=_("Chợ Quê: tạm ngừng gửi mã") if channel == "email" else "",
                    body=sms_text(body) if channel == "sms" else body,
                    created_at=now,
                    attempts=0,
                )
            )
