"""The outbox: SMS and e-mail written in the same transaction as the change that causes them,
delivered later by a gateway. Nothing external is needed to run: the default gateway logs.

A real provider plugs in by implementing `Gateway.send` and registering a factory:
    register_gateway("esms", lambda app, channel: EsmsGateway(app.config["ESMS_API_KEY"]))
and setting SMS_GATEWAY=esms (EMAIL_GATEWAY for e-mail) in the configuration.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from flask import Flask, current_app
from sqlalchemy import delete, select

from accounts.models import OutboxMessage
from core.db import db, utcnow

log = logging.getLogger(__name__)

SMS = "sms"
EMAIL = "email"
CHANNELS = (SMS, EMAIL)
MAX_ATTEMPTS = 5


class GatewayError(Exception):
    """The provider refused or failed; the message stays pending and is retried."""


class Gateway(Protocol):
    def send(self, message: OutboxMessage) -> None:
        """Deliver one message or raise GatewayError."""


class LogGateway:
    """Development and tests: writes the message to the log instead of delivering it."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send(self, message: OutboxMessage) -> None:
        log.info(
            "outbox %s to %s: %s %s", self.channel, message.recipient, message.subject, message.body
        )


GatewayFactory = Callable[[Flask, str], Gateway]
_FACTORIES: dict[str, GatewayFactory] = {"log": lambda app, channel: LogGateway(channel)}


def register_gateway(name: str, factory: GatewayFactory) -> None:
    _FACTORIES[name] = factory


def gateway_for(channel: str, app: Flask | None = None) -> Gateway:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    name = app.config.get(f"{channel.upper()}_GATEWAY") or "log"
    try:
        factory = _FACTORIES[name]
    except KeyError as exc:
        raise GatewayError(f"unknown {channel} gateway {name!r}") from exc
    return factory(app, channel)


UCS2_SINGLE_SMS = 70  # characters of one SMS with diacritics (UCS-2); GSM-7 carries 160


def sms_text(text: str, unicode: bool = True) -> str:
    """Vietnamese with its diacritics when the gateway sends Unicode (UCS-2) and the text fits
    one UCS-2 SMS: the same price as a plain one. Otherwise without diacritics, as GSM-7, so a
    message never costs two or three SMS (UCS-2 past 70 characters splits into parts of 67)."""
    if unicode and len(text) <= UCS2_SINGLE_SMS:
        return text
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def queue_message(channel: str, recipient: str, body: str, subject: str = "") -> OutboxMessage:
    """Add a message to the current unit of work (the caller's commit saves it)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if channel == SMS:
        body, subject = sms_text(body, bool(current_app.config.get("SMS_UNICODE", True))), ""
    message = OutboxMessage(channel=channel, recipient=recipient, subject=subject[:200], body=body)
    db.session.add(message)
    return message


def pending_messages(limit: int = 100) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(
            skip_locked=True
        )  # two senders never deliver the same message (PostgreSQL)
    )
    return list(db.session.scalars(query))


def latest_messages(limit: int = 50) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(db.session.scalars(query))


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0


def send_pending(gateways: Callable[[str], Gateway] | None = None, limit: int = 100) -> SendReport:
    """Hand pending messages to their channel's gateway; mark them sent or count the failure."""
    gateways = gateways or gateway_for
    chosen: dict[str, Gateway] = {}
    report = SendReport()
    for message in pending_messages(limit):
        try:
            gateway = chosen.get(message.channel) or gateways(message.channel)
            chosen[message.channel] = gateway
            gateway.send(message)
        except GatewayError as exc:
            message.attempts += 1
            message.last_error = str(exc)[:2000]
            report.failed += 1
            continue
        message.attempts += 1
        message.sent_at = utcnow()
        message.last_error = None
        report.sent += 1
    db.session.flush()
    return report


def purge_delivered(older_than: timedelta = timedelta(days=7)) -> int:
    """Delete messages delivered more than `older_than` ago: their bodies hold one-time codes
    and addresses nobody needs once sent. Undelivered ones stay for `flask outbox list`."""
    cutoff = utcnow() - older_than
    result = db.session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
