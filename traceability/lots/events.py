"""Trace events: append-only, with EPCIS 2.0 meaning, chained by SHA-256 per batch.

A correction is a new event pointing at the one it corrects; nothing is updated or deleted.

Hash chain (version 1): an event's canonical content is the sorted-key, compact JSON (UTF-8) of
the fields below, times in UTC ISO-8601 with microseconds and a `Z`; `prev_hash` (the previous
event's hash in the same batch, "" for the first) is part of that content, and
`hash = sha256(canonical JSON).hexdigest()`. `Batch.chain_head` holds the newest hash.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import event as sa_event
from sqlalchemy import select

from accounts import audit
from core.db import db, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.numbers import parse_int
from core.places import ward
from core.text import clean, clean_multiline
from traceability.lots.chain import compute_hash
from traceability.lots.event_kinds import (
    CORRECTABLE_KINDS,
    DEFAULT_TZ_OFFSET,
    KINDS,
    MAX_NOTE,
    MAX_TEXT,
    RECORDABLE_KINDS,
    EventKind,
    check_time,
    clean_details,
    kind_label,
    parse_tz_offset,
)
from traceability.models import Batch, TraceEvent

# --------------------------------------------------------------------------- append-only guard


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to update or delete a trace event through the ORM."""


@sa_event.listens_for(TraceEvent, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: TraceEvent) -> None:
    raise AppendOnlyViolation(f"trace event {target.id} is append-only: record a correction")


@sa_event.listens_for(TraceEvent, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: TraceEvent) -> None:
    raise AppendOnlyViolation(f"trace event {target.id} is append-only: it is never deleted")


# --------------------------------------------------------------------------- appending


def lock_batch(batch_id: int) -> Batch:
    """Load the batch and lock its row until the unit of work ends (PostgreSQL: FOR UPDATE).

    Two appends to one batch therefore run one after the other and see each other's chain head.
    """
    batch = db.session.scalar(
        select(Batch)
        .where(Batch.id == batch_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if batch is None:
        raise NotFound(_("Không tìm thấy lô hàng."))
    return batch


def append_locked(
    batch: Batch,
    kind: str,
    *,
    event_time: datetime | None,
    tz_offset: str = DEFAULT_TZ_OFFSET,
    location_ward_code: int | None = None,
    location_text: str = "",
    details: dict[str, Any] | None = None,
    corrects: TraceEvent | None = None,
    recorded_by_id: int | None = None,
) -> TraceEvent:
    """Append one validated event to a batch that the caller has locked with lock_batch()."""
    spec = KINDS[kind]
    details = details or {}
    disposition = spec.disposition
    if kind == EventKind.INSPECTING and details.get("result") == "fail":
        disposition = "non_conformant"
    last = db.session.execute(
        select(TraceEvent.seq, TraceEvent.hash)
        .where(TraceEvent.batch_id == batch.id)
        .order_by(TraceEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, None)
    event = TraceEvent(
        event_uuid=str(uuid.uuid4()),
        batch_id=batch.id,
        seq=seq,
        event_type=spec.event_type,
        action=spec.action,
        kind=kind,
        biz_step=spec.biz_step,
        disposition=disposition,
        event_time=check_time(event_time),
        event_tz_offset=parse_tz_offset(tz_offset),
        location_ward_code=location_ward_code,
        location_text=clean(location_text)[:MAX_TEXT],
        details=details,
        corrects_event_id=corrects.id if corrects else None,
        recorded_by_id=recorded_by_id,
        recorded_at=utcnow(),
        prev_hash=prev_hash,
    )
    event.hash = compute_hash(event, prev_hash)
    db.session.add(event)
    batch.chain_head = event.hash
    db.session.flush()
    return event


def _check_location(location_ward_code: int | None) -> int | None:
    if location_ward_code in (None, ""):
        return None
    code = parse_int(str(location_ward_code))
    if code is None or ward(code) is None:
        raise Invalid(
            _("Xã/phường không có trong danh sách."), fields={"location_ward_code": _("Chọn lại.")}
        )
    return code


def record_event(
    batch_id: int,
    kind: str,
    *,
    event_time: datetime | None = None,
    tz_offset: str = DEFAULT_TZ_OFFSET,
    location_ward_code: int | None = None,
    location_text: str = "",
    details: Mapping[str, Any] | None = None,
    recorded_by_id: int | None = None,
    actor_role: str = "",
) -> TraceEvent:
    """Record what happened to a lot (harvest, inspection, packing, shipping…)."""
    if kind not in RECORDABLE_KINDS:
        raise Invalid(_("Loại sự kiện không hợp lệ."), fields={"kind": _("Chọn lại.")})
    cleaned = clean_details(kind, details)
    code = _check_location(location_ward_code)
    if len(clean(location_text)) > MAX_TEXT:
        raise Invalid(fields={"location_text": _("Tối đa %(n)s ký tự.", n=MAX_TEXT)})
    batch = lock_batch(batch_id)
    event = append_locked(
        batch,
        kind,
        event_time=event_time,
        tz_offset=tz_offset,
        location_ward_code=code,
        location_text=location_text,
        details=cleaned,
        recorded_by_id=recorded_by_id,
    )
    _audit(batch, event, "trace_event.record", recorded_by_id, actor_role)
    return event


def _audit(batch: Batch, event: TraceEvent, action: str, actor_id: int | None, role: str) -> None:
    audit.record(
        actor_id,
        action,
        producer_id=batch.producer_id,
        actor_role=role,
        subject_type="trace_event",
        subject_id=event.id,
        summary=f"{batch.lot_code}: {kind_label(event.kind)} (#{event.seq})",
        details={"batch_id": batch.id, "seq": event.seq, "corrects": event.corrects_event_id},
    )


def _effective_state(batch_id: int) -> dict[int, int]:
    """original event id → the id of the event that corrected it."""
    rows = db.session.execute(
        select(TraceEvent.corrects_event_id, TraceEvent.id).where(
            TraceEvent.batch_id == batch_id, TraceEvent.corrects_event_id.is_not(None)
        )
    )
    return {original: newer for original, newer in rows}


def correct_event(
    batch_id: int,
    event_id: int,
    *,
    reason: str,
    retract: bool = False,
    event_time: datetime | None = None,
    tz_offset: str = DEFAULT_TZ_OFFSET,
    location_ward_code: int | None = None,
    location_text: str = "",
    details: Mapping[str, Any] | None = None,
    recorded_by_id: int | None = None,
    actor_role: str = "",
) -> TraceEvent:
    """Append a correction of `event_id`: its replacement (same kind, new content) or, with
    `retract`, a declaration that it did not happen. The original stays as it was."""
    reason = clean_multiline(reason)
    if not reason:
        raise Invalid(
            _("Vui lòng ghi lý do sửa."), fields={"reason": _("Vui lòng nhập thông tin này.")}
        )
    if len(reason) > MAX_NOTE:
        raise Invalid(fields={"reason": _("Tối đa %(n)s ký tự.", n=MAX_NOTE)})
    batch = lock_batch(batch_id)
    original = db.session.get(TraceEvent, event_id)
    if original is None or original.batch_id != batch.id:
        raise NotFound(_("Không tìm thấy sự kiện."))
    if original.kind not in CORRECTABLE_KINDS:
        raise Conflict(_("Sự kiện loại này không sửa được."))
    if original.id in _effective_state(batch.id):
        raise Conflict(_("Sự kiện này đã được sửa hoặc hủy; hãy sửa bản mới nhất."))
    if retract:
        event = append_locked(
            batch,
            EventKind.CORRECTION,
            event_time=None,
            details={"reason": reason},
            corrects=original,
            recorded_by_id=recorded_by_id,
        )
        _audit(batch, event, "trace_event.retract", recorded_by_id, actor_role)
        return event
    cleaned = clean_details(original.kind, details)
    cleaned["reason"] = reason
    code = _check_location(location_ward_code)
    event = append_locked(
        batch,
        original.kind,
        event_time=event_time,
        tz_offset=tz_offset,
        location_ward_code=code,
        location_text=location_text,
        details=cleaned,
        corrects=original,
        recorded_by_id=recorded_by_id,
    )
    _audit(batch, event, "trace_event.correct", recorded_by_id, actor_role)
    return event


def events_of(batch_id: int) -> list[TraceEvent]:
    return list(
        db.session.scalars(
            select(TraceEvent).where(TraceEvent.batch_id == batch_id).order_by(TraceEvent.seq)
        )
    )


def event_of(batch_id: int, event_id: int) -> TraceEvent:
    """An event of this batch, or 404 (another batch's event id reveals nothing)."""
    event = db.session.get(TraceEvent, event_id)
    if event is None or event.batch_id != batch_id:
        raise NotFound()
    return event
