"""Batches (lots): what one harvest or production run made, and their lineage.

Circular 02/2024/TT-BKHCN asks every lot to answer "one step back, one step forward": a lot made
from other lots (raw → packed; several → one blend) names them as parents.

Services flush but never commit; they raise DomainError subclasses with Vietnamese messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts import audit
from cooperatives.access import active_membership
from cooperatives.models import Producer, Product, ProductStatus
from core.db import after_rollback, db, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.gs1 import is_valid_ai_value
from core.i18n import LOCAL_TZ, local_today
from core.images import delete_image, store_image
from core.numbers import parse_id
from core.places import province, ward
from core.text import clean, clean_multiline
from traceability.lots.event_kinds import UNITS, EventKind, normalize_quantity
from traceability.lots.events import append_locked, lock_batch
from traceability.lots.lineage import _link, _load_parents, _parent_shares, _parents_detail
from traceability.models import Batch, BatchImage, BatchStatus

LOT_CODE_MAX = 20  # GS1 AI (10)
MAX_PHOTOS = 6
MAX_OTHER_STANDARDS = 5
MAX_STANDARD_TEXT = 80
MAX_TEXT = 2000
MAX_ORIGIN_TEXT = 300
EARLIEST_PRODUCTION = date(2000, 1, 1)
# A generous box around Việt Nam (islands included): catches swapped latitude/longitude.
VN_LATITUDE = (Decimal("8.0"), Decimal("23.5"))
VN_LONGITUDE = (Decimal("102.0"), Decimal("117.9"))

# Standards a lot can claim (Circular 02/2024 lists TCVN, QCVN, VietGAP, organic, TCCS…).
KNOWN_STANDARDS: dict[str, Any] = {
    "VietGAP": _l("VietGAP"),
    "GlobalGAP": _l("GlobalG.A.P."),
    "hữu cơ": _l("Hữu cơ (TCVN 11041)"),
    "TCCS": _l("TCCS (tiêu chuẩn cơ sở)"),
    "TCVN": _l("TCVN"),
    "QCVN": _l("QCVN"),
    "HACCP": _l("HACCP"),
    "ISO 22000": _l("ISO 22000"),
}


def standard_label(value: str) -> str:
    label = KNOWN_STANDARDS.get(value)
    return str(label) if label is not None else value


# --------------------------------------------------------------------------- validation


def _parse_date(value: Any, field: str, errors: dict[str, str]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = _("Ngày không hợp lệ.")
        return None


def _parse_coordinate(value: Any, field: str, errors: dict[str, str]) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        errors[field] = _("Nhập một số, ví dụ 20.7234.")
        return None
    if not number.is_finite():
        errors[field] = _("Nhập một số, ví dụ 20.7234.")
        return None
    low, high = VN_LATITUDE if field == "latitude" else VN_LONGITUDE
    if not low <= number <= high:
        errors[field] = _("Toạ độ nằm ngoài Việt Nam (kiểm tra vĩ độ và kinh độ có bị đảo không).")
        return None
    return number.quantize(Decimal("0.000001"))


def clean_standards(selected: Iterable[str], other: str | Iterable[str] = "") -> list[str]:
    """Known standards in their canonical spelling, then up to 5 free-text ones."""
    chosen: list[str] = []
    for value in selected or ():
        value = clean(value)
        if value not in KNOWN_STANDARDS:
            raise Invalid(fields={"standards": _("Tiêu chuẩn không hợp lệ.")})
        if value not in chosen:
            chosen.append(value)
    extra = other.split(",") if isinstance(other, str) else list(other or ())
    extras = [clean(item) for item in extra if clean(item)]
    if len(extras) > MAX_OTHER_STANDARDS:
        raise Invalid(
            fields={"other_standards": _("Tối đa %(n)s tiêu chuẩn khác.", n=MAX_OTHER_STANDARDS)}
        )
    for item in extras:
        if len(item) > MAX_STANDARD_TEXT:
            raise Invalid(fields={"other_standards": _("Mỗi tiêu chuẩn tối đa %(n)s ký tự.", n=80)})
        if item not in chosen:
            chosen.append(item)
    return chosen


def _check_lot_code(lot_code: str, errors: dict[str, str]) -> str:
    code = (lot_code or "").strip()
    if not code:
        errors["lot_code"] = _("Vui lòng nhập mã lô.")
    elif len(code) > LOT_CODE_MAX:
        errors["lot_code"] = _("Mã lô tối đa %(n)s ký tự.", n=LOT_CODE_MAX)
    elif not is_valid_ai_value(code, LOT_CODE_MAX):
        errors["lot_code"] = _(
            "Mã lô chỉ gồm chữ không dấu, số và các dấu - . / _, không có khoảng trắng."
        )
    return code


def _lot_code_taken(producer_id: int, lot_code: str) -> bool:
    return (
        db.session.scalar(
            select(Batch.id).where(Batch.producer_id == producer_id, Batch.lot_code == lot_code)
        )
        is not None
    )


def _event_time_for(day: date, produced_at: datetime | None) -> tuple[datetime, bool]:
    """When only a date is known, the event is dated at 00:00 local time and marked so."""
    if produced_at is not None:
        return produced_at, True
    if day == local_today():
        return utcnow().replace(microsecond=0), True
    return datetime.combine(day, time(0, 0), tzinfo=LOCAL_TZ), False


# --------------------------------------------------------------------------- create


# Long on purpose: twenty keyword fields in the signature; each check is a _check_* helper.
def create_batch(
    producer_id: int,
    *,
    product_id: Any,
    lot_code: str,
    produced_on: Any,
    quantity: Any,
    unit: str,
    best_before: Any = None,
    expires_on: Any = None,
    origin_ward_code: Any = None,
    origin_text: str = "",
    latitude: Any = None,
    longitude: Any = None,
    standards: Iterable[str] = (),
    other_standards: str | Iterable[str] = "",
    inputs_used: str = "",
    notes: str = "",
    parent_ids: Iterable[Any] = (),
    parent_quantities: Mapping[int, Any] | None = None,
    produced_at: datetime | None = None,
    created_by_id: int | None = None,
    actor_role: str = "",
) -> Batch:
    """Record a lot of one of the producer's products, with its first event: harvesting (or
    production) for a new lot, transforming when it was made from parent lots."""
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise NotFound()
    errors: dict[str, str] = {}

    product_key = parse_id(product_id)
    product = db.session.get(Product, product_key) if product_key else None
    if product is None or product.producer_id != producer.id:
        errors["product_id"] = _("Chọn một sản phẩm của cơ sở.")
    elif product.status == ProductStatus.ARCHIVED:
        errors["product_id"] = _("Sản phẩm đã ngừng bán; chọn sản phẩm khác.")

    code = _check_lot_code(lot_code, errors)
    if "lot_code" not in errors and _lot_code_taken(producer.id, code):
        errors["lot_code"] = _("Mã lô %(code)s đã có; mỗi lô cần một mã riêng.", code=code)
    day, best, expiry = _check_dates(produced_on, best_before, expires_on, errors)

    amount, unit = _check_amount(quantity, unit, errors)
    ward_code, province_code = _check_origin(producer, origin_ward_code, errors)
    origin_text = clean(origin_text)
    if len(origin_text) > MAX_ORIGIN_TEXT:
        errors["origin_text"] = _("Tối đa %(n)s ký tự.", n=MAX_ORIGIN_TEXT)
    lat = _parse_coordinate(latitude, "latitude", errors)
    lon = _parse_coordinate(longitude, "longitude", errors)
    if (lat is None) != (lon is None) and not {"latitude", "longitude"} & set(errors):
        errors["longitude" if lon is None else "latitude"] = _("Nhập cả vĩ độ và kinh độ.")

    chosen, inputs_used, notes = _check_practices(
        standards, other_standards, inputs_used, notes, errors
    )
    parents: list[Batch] = []
    try:
        parents = _load_parents(producer.id, parent_ids)
    except Invalid as exc:
        errors.update(exc.fields)
    shares = _parent_shares(parents, parent_quantities or {}, errors)

    if errors:
        raise Invalid(fields=errors)
    assert day is not None and amount is not None and product is not None

    batch = Batch(
        producer_id=producer.id,
        product_id=product.id,
        lot_code=code,
        produced_on=day,
        best_before=best,
        expires_on=expiry,
        quantity=Decimal(amount),
        unit=unit,
        origin_province_code=province_code,
        origin_ward_code=ward_code,
        origin_text=origin_text,
        latitude=lat,
        longitude=lon,
        standards=chosen,
        inputs_used=inputs_used,
        notes=notes,
        status=BatchStatus.ACTIVE,
        created_by_id=created_by_id,
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(batch)
            db.session.flush()
    except IntegrityError as exc:  # two people typed the same new lot code at once
        raise Conflict(
            _("Mã lô %(code)s đã có; mỗi lô cần một mã riêng.", code=code),
            fields={"lot_code": _("Mã lô đã có.")},
        ) from exc

    _first_event(batch, amount, parents, shares, produced_at, created_by_id)
    audit.record(
        created_by_id,
        "batch.create",
        producer_id=producer.id,
        actor_role=actor_role,
        subject_type="batch",
        subject_id=batch.id,
        summary=_("Tạo lô %(lot)s (%(product)s)", lot=code, product=product.name_vi),
        details={"lot_code": code, "parents": [p.id for p in parents]},
    )
    return batch


def _check_dates(
    produced_on: Any, best_before: Any, expires_on: Any, errors: dict[str, str]
) -> tuple[date | None, date | None, date | None]:
    """Production day (required, not in the future) and the optional best-before and expiry
    dates (after it, at most ten years on)."""
    day = _parse_date(produced_on, "produced_on", errors)
    if day is None and "produced_on" not in errors:
        errors["produced_on"] = _("Vui lòng nhập ngày thu hoạch/sản xuất.")
    elif day is not None and day > local_today():
        errors["produced_on"] = _("Ngày thu hoạch không được ở tương lai.")
    elif day is not None and day < EARLIEST_PRODUCTION:
        errors["produced_on"] = _("Ngày không hợp lệ.")
    best = _parse_date(best_before, "best_before", errors)
    expiry = _parse_date(expires_on, "expires_on", errors)
    if day is not None:
        if best is not None and best < day:
            errors["best_before"] = _("Hạn dùng phải sau ngày thu hoạch/sản xuất.")
        if expiry is not None and expiry < day:
            errors["expires_on"] = _("Hạn sử dụng phải sau ngày thu hoạch/sản xuất.")
    for field, value in (("best_before", best), ("expires_on", expiry)):
        if value is not None and day is not None and value > day + timedelta(days=365 * 10):
            errors[field] = _("Hạn quá xa (hơn 10 năm).")
    return day, best, expiry


def _check_amount(quantity: Any, unit: str, errors: dict[str, str]) -> tuple[str | None, str]:
    amount: str | None = None
    try:
        amount = normalize_quantity(quantity)
    except Invalid as exc:
        errors.update(exc.fields)
    unit = clean(unit)
    if unit not in UNITS:
        errors["unit"] = _("Chọn đơn vị.")
    return amount, unit


def _check_practices(
    standards: Iterable[str],
    other_standards: str | Iterable[str],
    inputs_used: str,
    notes: str,
    errors: dict[str, str],
) -> tuple[list[str], str, str]:
    """Standards followed, inputs used (fertiliser, feed…) and notes, cleaned and bounded."""
    chosen: list[str] = []
    try:
        chosen = clean_standards(standards, other_standards)
    except Invalid as exc:
        errors.update(exc.fields)
    inputs_used = clean_multiline(inputs_used)
    notes = clean_multiline(notes)
    for field, value in (("inputs_used", inputs_used), ("notes", notes)):
        if len(value) > MAX_TEXT:
            errors[field] = _("Tối đa %(n)s ký tự.", n=MAX_TEXT)
    return chosen, inputs_used, notes


def _check_origin(
    producer: Producer, origin_ward_code: Any, errors: dict[str, str]
) -> tuple[int | None, int | None]:
    """The ward (and its province) the lot comes from: the producer's unless one is chosen."""
    ward_code, province_code = producer.ward_code, producer.province_code
    if origin_ward_code not in (None, ""):
        code = parse_id(origin_ward_code)
        place = ward(code) if code is not None else None
        if place is None:
            errors["origin_ward_code"] = _("Xã/phường không có trong danh sách.")
        else:
            ward_code, province_code = place.code, place.province_code
    return ward_code, province_code


def _first_event(
    batch: Batch,
    amount: str,
    parents: Sequence[Batch],
    shares: Mapping[int, tuple[str | None, str | None]],
    produced_at: datetime | None,
    recorded_by_id: int | None,
) -> None:
    """A new lot's first event: harvesting (or production), or transforming from its parents."""
    when, time_known = _event_time_for(batch.produced_on, produced_at)
    details: dict[str, Any] = {"quantity": amount, "unit": batch.unit}
    if not time_known:
        details["time_known"] = False
    if parents:
        _link(batch, parents, shares)
        details["parents"] = _parents_detail(parents, shares)
        kind = EventKind.TRANSFORMING
    else:
        kind = EventKind.HARVESTING
    append_locked(
        lock_batch(batch.id),
        kind,
        event_time=when,
        location_ward_code=batch.origin_ward_code,
        location_text=batch.origin_text,
        details=details,
        recorded_by_id=recorded_by_id,
    )


def add_photo(
    batch_id: int, stream: IO[bytes], *, actor_id: int | None = None, actor_role: str = ""
) -> BatchImage:
    batch = db.session.get(Batch, batch_id)
    if batch is None:
        raise NotFound()
    count = len(batch.images)
    if count >= MAX_PHOTOS:
        raise Invalid(fields={"photo": _("Mỗi lô tối đa %(n)s ảnh.", n=MAX_PHOTOS)})
    stored = store_image(stream)
    after_rollback(lambda: delete_image(stored.key))  # the row did not land: nor do its files
    image = BatchImage(
        batch_id=batch.id,
        key=stored.key,
        width=stored.width,
        height=stored.height,
        position=count,
    )
    db.session.add(image)
    db.session.flush()
    audit.record(
        actor_id,
        "batch.photo",
        producer_id=batch.producer_id,
        actor_role=actor_role,
        subject_type="batch",
        subject_id=batch.id,
        summary=_("Thêm ảnh cho lô %(lot)s", lot=batch.lot_code),
    )
    return image


def get_batch(producer_id: int, batch_id: int) -> Batch:
    """A producer's batch, or NotFound (also for another producer's batch)."""
    batch = db.session.get(Batch, batch_id)
    if batch is None or batch.producer_id != producer_id:
        raise NotFound(_("Không tìm thấy lô hàng."))
    return batch


def batches_of(producer_id: int, *, limit: int = 200) -> list[Batch]:
    return list(
        db.session.scalars(
            select(Batch)
            .where(Batch.producer_id == producer_id)
            .order_by(Batch.produced_on.desc(), Batch.id.desc())
            .limit(limit)
        )
    )


def origin_line(batch: Batch) -> str:
    """Where the lot comes from: the text as written (old units) or commune, province."""
    if batch.origin_text:
        return batch.origin_text
    parts = [ward(batch.origin_ward_code), province(batch.origin_province_code)]
    return ", ".join(p.name for p in parts if p is not None)


# A lot of a product that is, or was, on sale is public (trace data is meant to be shared).
PUBLIC_STATUSES = (ProductStatus.PUBLISHED, ProductStatus.ARCHIVED)


def readable_batch(batch_id: int, user: Any) -> tuple[Batch, bool]:
    """The batch and whether `user` is a member of its producer (or a platform admin);
    NotFound for an unknown lot and for a draft product's lot shown to an outsider."""
    row = db.session.execute(
        select(Batch, Product.status)
        .join(Product, Product.id == Batch.product_id)
        .where(Batch.id == batch_id)
    ).first()
    if row is None:
        raise NotFound()
    batch, product_status = row
    member = bool(
        getattr(user, "is_authenticated", False)
        and (user.is_platform_admin or active_membership(user.id, batch.producer_id) is not None)
    )
    if product_status not in PUBLIC_STATUSES and not member:
        raise NotFound()
    return batch, member
