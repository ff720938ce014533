"""`flask outbox purge`: delivered messages and dead one-time codes do not pile up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from accounts.models import OneTimeCode, OutboxMessage
from core.db import db, utcnow


def _code(destination: str, *, expires_in: timedelta, used_ago: timedelta | None = None):
    now = utcnow()
    return OneTimeCode(
        destination=destination,
        purpose="login",
        code_hash="x" * 64,
        created_at=now + expires_in - timedelta(minutes=10),
        expires_at=now + expires_in,
        used_at=now - used_ago if used_ago is not None else None,
    )


def _message(recipient: str, *, sent_ago: timedelta | None, created_ago=timedelta(days=30)):
    now = utcnow()
    return OutboxMessage(
        channel="sms",
        recipient=recipient,
        body="Mã đăng nhập Chợ Quê: 123456",
        created_at=now - created_ago,
        sent_at=now - sent_ago if sent_ago is not None else None,
    )


def test_purge_removes_delivered_messages_and_dead_codes_only(app, runner):
    with app.app_context():
        db.session.add_all(
            [
                _code("expired-long-ago", expires_in=-timedelta(days=2)),
                _code("used-long-ago", expires_in=timedelta(minutes=5), used_ago=timedelta(days=3)),
                _code("live", expires_in=timedelta(minutes=5)),
                _code("expired-just-now", expires_in=-timedelta(minutes=1)),
                _message("sent-long-ago", sent_ago=timedelta(days=10)),
                _message("sent-yesterday", sent_ago=timedelta(days=1)),
                _message("never-sent", sent_ago=None),
            ]
        )
        db.session.commit()
    result = runner.invoke(args=["outbox", "purge"])
    assert result.exit_code == 0, result.output
    assert "Đã xoá 1 tin đã gửi và 2 mã" in result.output
    with app.app_context():
        codes = set(db.session.scalars(select(OneTimeCode.destination)))
        messages = set(db.session.scalars(select(OutboxMessage.recipient)))
    assert codes == {"live", "expired-just-now"}
    assert messages == {"sent-yesterday", "never-sent"}  # undelivered ones stay to be seen
