"""The hash chain of a lot's events: the canonical content each hash covers, and the check
that recomputes the chain and names the first link that does not hold."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from core.db import db
from core.errors import NotFound
from traceability.models import Batch, TraceEvent

HASH_VERSION = 1


def utc_iso(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite returns naive UTC when read outside UTCDateTime
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_content(event: TraceEvent, prev_hash: str | None) -> dict[str, Any]:
    """The fields that matter. recorded_by is left out on purpose: deleting a user account sets
    it to NULL and must not break the chain (the audit log keeps who did what)."""
    return {
        "v": HASH_VERSION,
        "uuid": event.event_uuid,
        "batch_id": event.batch_id,
        "seq": event.seq,
        "kind": event.kind,
        "type": event.event_type,
        "action": event.action,
        "biz_step": event.biz_step,
        "disposition": event.disposition,
        "event_time": utc_iso(event.event_time),
        "tz": event.event_tz_offset,
        "ward": event.location_ward_code,
        "place": event.location_text or "",
        "details": event.details or {},
        "corrects": event.corrects_event_id,
        "recorded_at": utc_iso(event.recorded_at),
        "prev_hash": prev_hash or "",
    }


def canonical_json(content: Mapping[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(event: TraceEvent, prev_hash: str | None) -> str:
    return hashlib.sha256(canonical_json(canonical_content(event, prev_hash))).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    batch_id: int
    lot_code: str
    ok: bool
    events: int
    chain_head: str | None
    broken_event_id: int | None = None
    broken_seq: int | None = None
    problem: str = ""  # content | link | sequence | head
    expected: str | None = None
    found: str | None = None

    @property
    def message(self) -> str:
        if self.ok:
            return ngettext(
                "Chuỗi nguyên vẹn (%(n)s sự kiện).",
                "Chuỗi nguyên vẹn (%(n)s sự kiện).",
                self.events,
                n=self.events,
            )
        messages = {
            "content": _(
                "Nội dung sự kiện số %(seq)s đã bị sửa ngoài ứng dụng.", seq=self.broken_seq
            ),
            "link": _("Sự kiện số %(seq)s không nối đúng với sự kiện trước.", seq=self.broken_seq),
            "sequence": _("Thứ tự sự kiện bị đứt ở số %(seq)s.", seq=self.broken_seq),
            "head": _("Đầu chuỗi của lô không khớp với sự kiện cuối."),
        }
        return messages.get(self.problem, self.problem)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "batch_id": self.batch_id,
            "lot_code": self.lot_code,
            "ok": self.ok,
            "events": self.events,
            "chain_head": self.chain_head,
            "message": self.message,
        }
        if not self.ok:
            body["broken"] = {
                "event_id": self.broken_event_id,
                "seq": self.broken_seq,
                "problem": self.problem,
                "expected": self.expected,
                "found": self.found,
            }
        return body


def verify_chain(batch_id: int) -> ChainReport:
    """Recompute every hash of a batch in order from what the database holds now; report the
    first broken link (or OK)."""
    batch = db.session.scalar(
        select(Batch).where(Batch.id == batch_id).execution_options(populate_existing=True)
    )
    if batch is None:
        raise NotFound(_("Không tìm thấy lô hàng."))
    events = list(
        db.session.scalars(
            select(TraceEvent)
            .where(TraceEvent.batch_id == batch_id)
            .order_by(TraceEvent.seq)
            .execution_options(populate_existing=True)
        )
    )

    def broken(event: TraceEvent | None, problem: str, expected: Any, found: Any) -> ChainReport:
        return ChainReport(
            batch_id=batch.id,
            lot_code=batch.lot_code,
            ok=False,
            events=len(events),
            chain_head=batch.chain_head,
            broken_event_id=event.id if event else None,
            broken_seq=event.seq if event else None,
            problem=problem,
            expected=None if expected is None else str(expected),
            found=None if found is None else str(found),
        )

    prev: str | None = None
    for index, event in enumerate(events, start=1):
        if event.seq != index:
            return broken(event, "sequence", index, event.seq)
        if (event.prev_hash or None) != prev:
            return broken(event, "link", prev, event.prev_hash)
        recomputed = compute_hash(event, prev)
        if recomputed != event.hash:
            return broken(event, "content", recomputed, event.hash)
        prev = event.hash
    if (batch.chain_head or None) != prev:
        return broken(events[-1] if events else None, "head", prev, batch.chain_head)
    return ChainReport(
        batch_id=batch.id,
        lot_code=batch.lot_code,
        ok=True,
        events=len(events),
        chain_head=batch.chain_head,
    )
