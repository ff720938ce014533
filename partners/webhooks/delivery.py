"""Sending deliveries: claim a batch under a lease (one conditional UPDATE; on PostgreSQL its
subquery skips rows another worker is claiming), build coalesced payloads at send time, sign,
POST in parallel outside any transaction, then record each outcome: delivered, or retried with
exponential backoff and jitter, or failed after WEBHOOK_MAX_ATTEMPTS (replayable).

A worker killed between claim and record leaves its rows leased: they are claimed again when
the lease expires, so none is lost (a partner may see a message twice, with the same
webhook-id, as the spec allows).
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, or_, select, update

from cooperatives.models import Product
from core.db import db, unit_of_work, utcnow
from core.i18n import local_today
from partners import feeds
from partners.webhooks import addresses, signing
from partners.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

BATCH = 50
EXCERPT = 500


@dataclass
class Outgoing:
    id: int
    msg_id: str
    url: str
    secrets: tuple[str, ...]  # the newest first; two during a rotation's overlap
    body: bytes
    attempts: int


def _setting(name: str, default: Any) -> Any:
    return current_app.config.get(name, default)


def claim(limit: int = BATCH) -> tuple[str, list[WebhookDelivery]]:
    """Lease up to `limit` due deliveries to this caller (its own commit)."""
    token = uuid.uuid4().hex
    with unit_of_work():
        now = utcnow()
        free = or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now)
        due = (
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                free,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
        if db.session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        lease = timedelta(seconds=_setting("WEBHOOK_LEASE_SECONDS", 60))
        db.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id.in_(due.scalar_subquery()),
                WebhookDelivery.status == DeliveryStatus.PENDING,
                free,
            )
            .values(
                lease_until=now + lease,
                lease_token=token,
                coalesce_key=None,  # later changes make a new delivery
                attempts=WebhookDelivery.attempts + 1,
                last_attempt_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        rows = list(
            db.session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.lease_token == token)
                .order_by(WebhookDelivery.id)
            )
        )
        db.session.expunge_all()
    return token, rows


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _product_data(partner_id: int, product_ids: set[int]) -> dict[int, dict]:
    live = set(db.session.scalars(feeds.visible_ids(partner_id).where(Product.id.in_(product_ids))))
    records = {r["id"]: r for r in feeds.describe(feeds.load(live), local_today())}
    return {p: records.get(p) or {"id": p, "removed": True} for p in product_ids}


def _stock_data(record: dict) -> dict:
    if record.get("removed"):
        return {"product_id": record["id"], "removed": True}
    return {
        "product_id": record["id"],
        "availability": record["availability"],
        "variants": [
            {k: v[k] for k in ("id", "sku", "available_units", "availability")}
            for v in record["variants"]
        ],
    }


def payloads(rows: list[WebhookDelivery]) -> dict[int, dict]:
    """delivery id → the `data` it sends (coalesced events read the product now)."""
    wanted: dict[int, set[int]] = {}
    for row in rows:
        if row.payload is None and row.subject_id is not None:
            wanted.setdefault(row.partner_id, set()).add(row.subject_id)
    current = {pid: _product_data(pid, ids) for pid, ids in wanted.items()}
    result = {}
    for row in rows:
        if row.payload is not None:
            result[row.id] = row.payload
            continue
        record = current.get(row.partner_id, {}).get(row.subject_id or 0) or {}
        result[row.id] = _stock_data(record) if row.event == "stock.changed" else record
    return result


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    """The secrets that sign what is sent now: the current one, and during a rotation's overlap
    the previous one too (a replay signs with the secrets of the moment it is sent)."""
    current = signing.decrypt(endpoint.secret_encrypted)
    if endpoint.previous_signs_until(now) is None:
        return (current,)
    return (current, signing.decrypt(endpoint.previous_secret_encrypted or ""))


def prepare(rows: list[WebhookDelivery]) -> list[Outgoing]:
    data = payloads(rows)
    endpoints = {
        e.id: e
        for e in db.session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id.in_({r.endpoint_id for r in rows}))
        )
    }
    moment = utcnow()
    secrets_by_endpoint = {i: signing_secrets(e, moment) for i, e in endpoints.items()}
    now = _iso(moment)
    out = []
    for row in rows:
        envelope = {"type": row.event, "timestamp": now, "data": data[row.id]}
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        endpoint = endpoints[row.endpoint_id]
        out.append(
            Outgoing(
                row.id,
                row.msg_id,
                endpoint.url,
                secrets_by_endpoint[endpoint.id],
                body,
                row.attempts,
            )
        )
    return out


_OPENERS = {flag: addresses.opener(allow_loopback=flag) for flag in (False, True)}


def send(item: Outgoing, timeout: float, allow_loopback: bool = False) -> tuple[int | None, str]:
    """(HTTP status or None, an excerpt of the answer or the error). Only to public http(s)
    addresses, checked after DNS resolution on the address connected to (addresses.py)."""
    if urlsplit(item.url).scheme not in addresses.SCHEMES:
        return None, "ForbiddenAddress: not an http(s) URL"
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ChoQue-Webhooks/1",
        **signing.headers(item.secrets, item.msg_id, int(time.time()), item.body),
    }
    # an http(s) URL (checked above); the opener connects only to public addresses
    request = urllib.request.Request(item.url, data=item.body, headers=headers, method="POST")  # noqa: S310
    try:
        with _OPENERS[allow_loopback].open(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(EXCERPT).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(EXCERPT).decode("utf-8", "replace")
    except urllib.error.URLError as error:  # refused, timed out, an inside address
        reason = error.reason if isinstance(error.reason, Exception) else error
        return None, f"{type(reason).__name__}: {reason}"[:EXCERPT]
    except (OSError, ValueError) as error:  # timed out while reading, bad address
        return None, f"{type(error).__name__}: {error}"[:EXCERPT]


def backoff(attempts: int) -> timedelta:
    """Exponential from WEBHOOK_RETRY_BASE_SECONDS, capped at 6 hours, ±25 % jitter."""
    base = _setting("WEBHOOK_RETRY_BASE_SECONDS", 30)
    seconds = min(base * 2 ** max(attempts - 1, 0), 6 * 3600)
    return timedelta(seconds=seconds * random.uniform(0.75, 1.25))  # noqa: S311


def record(token: str, item: Outgoing, status: int | None, excerpt: str) -> None:
    now = utcnow()
    ok = status is not None and 200 <= status < 300
    values: dict[str, Any] = {
        "lease_until": None,
        "lease_token": None,
        "last_status": status,
        "last_response": excerpt[:EXCERPT],
    }
    if ok:
        values.update(status=DeliveryStatus.DELIVERED, delivered_at=now)
    elif item.attempts >= _setting("WEBHOOK_MAX_ATTEMPTS", 8):
        values.update(status=DeliveryStatus.FAILED)
    else:
        values.update(next_attempt_at=now + backoff(item.attempts))
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == item.id, WebhookDelivery.lease_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def deliver_batch(limit: int = BATCH) -> int:
    """Claim, send and record one batch; the number claimed."""
    token, rows = claim(limit)
    if not rows:
        return 0
    with unit_of_work():
        outgoing = prepare(rows)
    db.session.close()  # no transaction held while waiting on partners
    timeout = _setting("WEBHOOK_TIMEOUT_SECONDS", 10)
    loopback = bool(_setting("WEBHOOK_ALLOW_LOOPBACK", False))
    with ThreadPoolExecutor(max_workers=_setting("WEBHOOK_CONCURRENCY", 8)) as pool:
        results = list(pool.map(lambda item: send(item, timeout, loopback), outgoing))
    with unit_of_work():
        for item, (status, excerpt) in zip(outgoing, results, strict=True):
            record(token, item, status, excerpt)
    return len(rows)


def next_due_in() -> float | None:
    """Seconds until a pending delivery falls due (0: now), None when none waits."""
    now = utcnow()
    soonest = db.session.scalar(
        select(
            func.min(func.coalesce(WebhookDelivery.lease_until, WebhookDelivery.next_attempt_at))
        ).where(WebhookDelivery.status == DeliveryStatus.PENDING)
    )
    db.session.rollback()
    if soonest is None:
        return None
    if isinstance(soonest, str):  # SQLite's coalesce() forgets the column type
        soonest = datetime.fromisoformat(soonest)
    if soonest.tzinfo is None:
        soonest = soonest.replace(tzinfo=UTC)
    return max((soonest - now).total_seconds(), 0.0)


def deliver_due(max_seconds: float = 60.0) -> float | None:
    """The background task: send everything due now (for at most `max_seconds`), then say when
    more falls due."""
    started = time.monotonic()
    while deliver_batch():
        if time.monotonic() - started > max_seconds:
            return 0.0
    return next_due_in()
