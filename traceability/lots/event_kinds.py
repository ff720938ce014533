"""The kinds of trace event (EPCIS 2.0 meaning, the fields each holds, their labels) and the
checks every event's time, quantity and details pass before it is appended (events.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.db import utcnow
from core.errors import Invalid
from core.text import clean, clean_multiline
from traceability.models import TraceEvent

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


def check_time(value: datetime | None) -> datetime:
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
