"""Users, council seats, one-time codes, the outbox, partner API keys and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db, utcnow


class CouncilLevel(enum.StrEnum):
    PROVINCE = "province"  # rates 3★ and 4★ since July 2025
    CENTRAL = "central"  # rates 5★


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint("phone IS NOT NULL OR email IS NOT NULL", name="has_contact"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)  # E.164 +84…
    email: Mapped[str | None] = mapped_column(String(254), unique=True)  # lower-case
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Bumped on password change / sign-out everywhere; part of the session identity.
    session_version: Mapped[int] = mapped_column(default=1)

    council_seats: Mapped[list[CouncilSeat]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: a password change signs out other sessions
        return f"{self.id}:{self.session_version}"

    @property
    def contact(self) -> str:
        return self.phone or self.email or ""


class CouncilSeat(db.Model):
    """An OCOP council member's scope: one province, or the central council."""

    __tablename__ = "council_seat"
    __table_args__ = (
        CheckConstraint(
            "(level = 'central' AND province_code IS NULL) OR "
            "(level = 'province' AND province_code IS NOT NULL)",
            name="scope",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    province_code: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="council_seats")


class OneTimeCode(db.Model):
    """A short code sent by SMS or e-mail for sign-in or password reset; stored only hashed."""

    __tablename__ = "one_time_code"
    __table_args__ = (Index("ix_one_time_code_destination_purpose", "destination", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    destination: Mapped[str] = mapped_column(String(254))
    purpose: Mapped[str] = mapped_column(String(16))  # login | reset
    code_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # the hourly cap
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]


class OutboxMessage(db.Model):
    """SMS and e-mail waiting for a gateway; written in the same transaction as the change."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # sms | email
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class ApiKey(db.Model):
    """A partner's key: shown once, stored as a SHA-256 hash; looked up by its public prefix."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Rotation: the old key keeps working until expires_at (an overlap), then stops.
    expires_at: Mapped[datetime | None]
    # Requests allowed per key, a `limits` string such as "600/minute"; None: the default.
    rate_limit: Mapped[str | None] = mapped_column(String(40))


class AuditEntry(db.Model):
    """Who changed what, and for which producer ('entered by Tuấn for hộ Nguyễn Văn A').

    producer_id is a plain integer: accounts sits below cooperatives and knows no producer table.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_producer_at", "producer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(24), default="")
    producer_id: Mapped[int | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32), default="")
    subject_id: Mapped[int | None]
    summary: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()
