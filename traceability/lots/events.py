"""Trace events: append-only, with EPCIS 2.0 meaning, chained by SHA-256 per batch.

A correction is a new event pointing at the one it corrects; nothing is updated or deleted.

Hash chain (version 1): an event's canonical content is the sorted-key, compact JSON (UTF-8) of
the fields below, times in UTC ISO-8601 with microseconds and a `Z`; `prev_hash` (the previous
event's hash in the same batch, "" for the first) is part of that content, and
`hash = sha256(canonical JSON).hexdigest()`. `Batch.chain_head` holds the newest hash.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event as sa_event
from sqlalchemy import select

from accounts import audit
from core.db import db, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.numbers import parse_int
from core.places import ward
from core.text import clean, clean_multiline
from traceability.lots.chain import compute_hash
from traceability.models import Batch, TraceEvent

DEFAULT_TZ_OFFSET = "+07:00"
# The pattern the EPCIS 2.0 JSON schema allows for eventTimeZoneOffset.
_TZ_OFFSET = re.compile(r"^[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)$")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_TEXT = 300
MAX_NOTE = 1000
# Namespace prefix of this platform's EPCIS extensions (declared in every exported @context).
EXT = "choque"


class EventKind:
    PLANTING = "planting"
    INPUTS = "inputs"
    HARVESTING = "harvesting"
    INSPECTING = "inspecting"
    PACKING = "packing"
    STORING = "storing"
    SHIPPING = "shipping"
    RECEIVING = "receiving"
    TRANSFORMING = "transforming"
    RECALLING = "recalling"
    CORRECTION = "correction"  # declares another event did not happen (a retraction)


@dataclass(frozen=True)
class KindSpec:
    """What a kind means in EPCIS 2.0 / CBV 2.0 (see docs/traceability.md)."""

    event_type: str
    action: str | None
    biz_step: str
    disposition: str | None
    label: Any
    fields: tuple[str, ...]  # allowed detail keys
    required: tuple[str, ...] = ()
    recordable: bool = True  # offered on the "add event" form


# CBV 2.0 has no planting or input-application step: those use this platform's namespace.
# fmt: off
KINDS: dict[str, KindSpec] = {
    EventKind.PLANTING: KindSpec(
        "ObjectEvent", "OBSERVE", f"{EXT}:planting", "in_progress", _l("Gieo trồng"),
        ("crop", "area", "note")),
    EventKind.INPUTS: KindSpec(
        "ObjectEvent", "OBSERVE", f"{EXT}:applying_inputs", "in_progress",
        _l("Dùng vật tư (phân bón, thuốc)"), ("inputs", "note"), ("inputs",)),
    EventKind.HARVESTING: KindSpec(
        "ObjectEvent", "ADD", "commissioning", "active", _l("Thu hoạch / sản xuất"),
        ("quantity", "unit", "note", "time_known")),
    EventKind.INSPECTING: KindSpec(
        "ObjectEvent", "OBSERVE", "inspecting", "conformant", _l("Kiểm tra chất lượng"),
        ("result", "inspector", "note"), ("result",)),
    EventKind.PACKING: KindSpec(
        "ObjectEvent", "OBSERVE", "packing", "in_progress", _l("Đóng gói"),
        ("packaging", "quantity", "unit", "note")),
    EventKind.STORING: KindSpec(
        "ObjectEvent", "OBSERVE", "storing", "sellable_not_accessible", _l("Bảo quản, lưu kho"),
        ("note",)),
    EventKind.SHIPPING: KindSpec(
        "ObjectEvent", "OBSERVE", "shipping", "in_transit", _l("Vận chuyển đi"),
        ("destination", "carrier", "quantity", "unit", "note"), ("destination",)),
    EventKind.RECEIVING: KindSpec(
        "ObjectEvent", "OBSERVE", "receiving", "in_progress", _l("Nhận hàng"),
        ("source", "quantity", "unit", "note")),
    EventKind.TRANSFORMING: KindSpec(
        "TransformationEvent", None, "commissioning", "active",
        _l("Chế biến, đóng gói thành lô mới"), ("parents", "quantity", "unit", "note",
        "time_known"), recordable=False),
    EventKind.RECALLING: KindSpec(
        "ObjectEvent", "OBSERVE", "holding", "recalled", _l("Thu hồi"),
        ("reason", "origin_batch_id", "origin_lot_code"), ("reason",), recordable=False),
    EventKind.CORRECTION: KindSpec(
        "ObjectEvent", "OBSERVE", f"{EXT}:retracting", None, _l("Hủy sự kiện ghi nhầm"),
        ("reason",), ("reason",), recordable=False),
}
# fmt: on
RECORDABLE_KINDS = tuple(k for k, spec in KINDS.items() if spec.recordable)
# Events that can be corrected with new content (lineage and recalls are not edited by hand).
CORRECTABLE_KINDS = frozenset(RECORDABLE_KINDS)
INSPECTION_RESULTS = {"pass": _l("Đạt"), "fail": _l("Không đạt")}
# Units a farmer uses, with their UN/CEFACT Rec. 20 code for EPCIS `uom` (None: counted items).
UNITS: dict[str, str | None] = {
    "kg": "KGM",
    "tấn": "TNE",
    "g": "GRM",
    "lít": "LTR",
    "ml": "MLT",
    "quả": "H87",
    "cái": "H87",
    "bó": None,
    "thùng": None,
    "hộp": None,
    "chai": None,
    "gói": None,
    "túi": None,
    "con": None,
}
# How each unit is shown (the stored value stays the Vietnamese word the farmer picked).
UNIT_LABELS: dict[str, Any] = {
    "kg": _l("kg"),
    "tấn": _l("tấn"),
    "g": _l("gam"),
    "lít": _l("lít"),
    "ml": _l("ml"),
    "quả": _l("quả"),
    "cái": _l("cái"),
    "bó": _l("bó"),
    "thùng": _l("thùng"),
    "hộp": _l("hộp"),
    "chai": _l("chai"),
    "gói": _l("gói"),
    "túi": _l("túi"),
    "con": _l("con"),
}


def unit_label(unit: str | None) -> str:
    return str(UNIT_LABELS.get(unit or "", unit or ""))


def kind_label(kind: str) -> str:
    spec = KINDS.get(kind)
    return str(spec.label) if spec else kind


# --------------------------------------------------------------------------- append-only guard


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to update or delete a trace event through the ORM."""


@sa_event.listens_for(TraceEvent, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: TraceEvent) -> None:
    raise AppendOnlyViolation(f"trace event {target.id} is append-only: record a correction")


@sa_event.listens_for(TraceEvent, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: TraceEvent) -> None:
    raise AppendOnlyViolation(f"trace event {target.id} is append-only: it is never deleted")


# --------------------------------------------------------------------------- validation


def parse_tz_offset(text: str | None) -> str:
    value = (text or DEFAULT_TZ_OFFSET).strip()
    if not _TZ_OFFSET.match(value):
        raise Invalid(
            _("Múi giờ không hợp lệ (ví dụ +07:00)."), fields={"tz_offset": _("Không hợp lệ.")}
        )
    return value


def offset_timezone(offset: str) -> timezone:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def time_from_form(
    day: str | None, clock: str | None, tz_offset: str = DEFAULT_TZ_OFFSET
) -> datetime:
    """A date and an optional HH:MM typed on a phone, at that time-zone offset."""
    errors: dict[str, str] = {}
    try:
        parsed_day = date.fromisoformat((day or "").strip())
    except ValueError:
        parsed_day = None
        errors["day"] = _("Ngày không hợp lệ.")
    parsed_clock = time(12, 0)
    if clock and clock.strip():
        try:
            parsed_clock = time.fromisoformat(clock.strip()).replace(second=0, microsecond=0)
        except ValueError:
            errors["clock"] = _("Giờ không hợp lệ (ví dụ 07:30).")
    if errors or parsed_day is None:
        raise Invalid(fields=errors)
    zone = offset_timezone(parse_tz_offset(tz_offset))
    return datetime.combine(parsed_day, parsed_clock.replace(tzinfo=None), tzinfo=zone)


def local_event_time(event: TraceEvent) -> datetime:
    """The event time as it was on the clock where it happened."""
    return event.event_time.astimezone(offset_timezone(event.event_tz_offset))


def _check_time(value: datetime | None) -> datetime:
    if value is None:
        return utcnow().replace(microsecond=0)
    if value.tzinfo is None:
        raise Invalid(_("Thời điểm thiếu múi giờ."), fields={"event_time": _("Không hợp lệ.")})
    if value < EARLIEST:
        raise Invalid(
            _("Thời điểm quá xa trong quá khứ."),
            fields={"event_time": _("Ngày không hợp lệ.")},
        )
    if value > utcnow() + timedelta(minutes=10):
        raise Invalid(
            _("Không thể ghi sự kiện trong tương lai."),
            fields={"event_time": _("Ngày giờ không được ở tương lai.")},
        )
    return value.astimezone(UTC).replace(microsecond=0)


def normalize_quantity(value: Any, field: str = "quantity") -> str:
    """A positive decimal with at most 3 decimals, as a plain string (hash-stable)."""
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise Invalid(
            _("Số lượng phải là một số."), fields={field: _("Nhập một số, ví dụ 5000.")}
        ) from exc
    if not number.is_finite() or number <= 0:
        raise Invalid(_("Số lượng phải lớn hơn 0."), fields={field: _("Phải lớn hơn 0.")})
    if number >= Decimal("1e11") or number != number.quantize(Decimal("0.001")):
        raise Invalid(
            _("Số lượng quá lớn hoặc quá nhiều chữ số thập phân."),
            fields={field: _("Tối đa 3 chữ số sau dấu phẩy.")},
        )
    return format(number.normalize(), "f")


def clean_details(kind: str, details: Mapping[str, Any] | None) -> dict[str, Any]:  # noqa: C901 - one branch per field type of the kinds table
    """Keep only the keys this kind allows, cleaned; raise Invalid for bad or missing values."""
    spec = KINDS[kind]
    details = dict(details or {})
    unknown = set(details) - set(spec.fields) - {"reason"}
    if unknown:
        raise Invalid(_("Thông tin không hợp lệ: %(keys)s.", keys=", ".join(sorted(unknown))))
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, raw in details.items():
        if raw is None or raw == "":
            continue
        if key == "parents":
            out[key] = raw  # built by the batch service, not typed by users
            continue
        if key == "origin_batch_id":
            out[key] = int(raw)
            continue
        if key == "time_known":
            out[key] = bool(raw)
            continue
        if key == "quantity":
            try:
                out[key] = normalize_quantity(raw)
            except Invalid as exc:
                errors.update(exc.fields)
            continue
        text = clean_multiline(str(raw)) if key in ("note", "reason", "inputs") else clean(str(raw))
        limit = MAX_NOTE if key in ("note", "reason", "inputs") else MAX_TEXT
        if len(text) > limit:
            errors[key] = _("Tối đa %(n)s ký tự.", n=limit)
            continue
        if key == "unit" and text not in UNITS:
            errors[key] = _("Đơn vị không hợp lệ.")
            continue
        if key == "result" and text not in INSPECTION_RESULTS:
            errors[key] = _("Chọn Đạt hoặc Không đạt.")
            continue
        if text:
            out[key] = text
    for key in spec.required:
        if key not in out and key not in errors:
            errors[key] = _("Vui lòng nhập thông tin này.")
    if "quantity" in out and "unit" not in out and "unit" not in errors:
        errors["unit"] = _("Chọn đơn vị cho số lượng.")
    if errors:
        raise Invalid(fields=errors)
    return out


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
        event_time=_check_time(event_time),
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
