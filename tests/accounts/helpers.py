"""Helpers for the accounts tests: outbox codes, user state, whether a client is signed in."""

from __future__ import annotations

import re

from sqlalchemy import select

from accounts.models import OutboxMessage, User
from core.db import db


def latest_code(app, recipient: str) -> str:
    """The six digits in the newest outbox message to `recipient`."""
    with app.app_context():
        body = db.session.scalar(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == recipient)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
    assert body, f"no message to {recipient}"
    match = re.search(r"\b(\d{6})\b", body)
    assert match, body
    return match.group(1)


def outbox_count(app, recipient: str | None = None) -> int:
    with app.app_context():
        query = select(db.func.count(OutboxMessage.id))
        if recipient is not None:
            query = query.where(OutboxMessage.recipient == recipient)
        return db.session.scalar(query)


def user_state(app, user_id: int) -> dict:
    with app.app_context():
        user = db.session.get(User, user_id)
        return {
            "session_version": user.session_version,
            "password_hash": user.password_hash,
            "last_login_at": user.last_login_at,
            "name": user.name,
            "locale": user.locale,
        }


def signed_in(client) -> bool:
    """True if the client's session is signed in (the account page answers 200)."""
    return client.get("/account").status_code == 200
