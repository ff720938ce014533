"""Activation and voiding of serial ranges.

Stamps are printed before harvest. They say nothing about a product until a manager activates
a serial range for a lot; damaged ones are voided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, update

from core.db import db, utcnow
from core.errors import Conflict, Invalid
from core.numbers import parse_id, parse_int
from core.text import clean
from traceability.models import Batch, BatchStatus, Stamp, StampRun, StampState
from traceability.stamps.codes import (
    MAX_RANGE,
)

# ------------------------------------------------------------------------- activation, void


@dataclass(frozen=True)
class RangeResult:
    first: int
    last: int
    count: int


def _check_range(first: Any, last: Any) -> tuple[int, int]:
    a, b = parse_int(first, minimum=1), parse_int(last, minimum=1)
    if a is None or b is None:
        raise Invalid(_("Số sê-ri phải là số nguyên dương."), fields={"first": _("Nhập số")})
    if b < a:
        raise Invalid(
            _("Số cuối (%(last)s) nhỏ hơn số đầu (%(first)s).", first=a, last=b),
            fields={"last": _("Số cuối phải lớn hơn hoặc bằng số đầu")},
        )
    if b - a + 1 > MAX_RANGE:
        raise Invalid(
            _("Mỗi lần tối đa %(max)s tem.", max=f"{MAX_RANGE:,}".replace(",", ".")),
            fields={"last": _("Khoảng quá lớn")},
        )
    return a, b


def _span(serials: list[int]) -> str:
    """[1, 2, 3, 7] → '1–3, 7' (at most five pieces, then '…')."""
    pieces: list[str] = []
    start = prev = None
    for s in serials:
        if start is None:
            start = prev = s
        elif s == prev + 1:
            prev = s
        else:
            pieces.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = s
    if start is not None:
        pieces.append(f"{start}" if start == prev else f"{start}–{prev}")
    return ", ".join(pieces[:5]) + (", …" if len(pieces) > 5 else "")


def _missing_in_range(producer_id: int, a: int, b: int) -> str:
    """'' when every serial a…b is one of the producer's stamps, else the missing ones."""
    present = db.session.scalar(
        select(func.count())
        .select_from(Stamp)
        .where(Stamp.producer_id == producer_id, Stamp.serial.between(a, b))
    )
    return "" if present == b - a + 1 else _missing(producer_id, a, b)


def _missing(producer_id: int, a: int, b: int) -> str:
    present = db.session.scalars(
        select(Stamp.serial)
        .where(Stamp.producer_id == producer_id, Stamp.serial.between(a, b))
        .order_by(Stamp.serial)
    )
    have = set(present)
    return _span([s for s in range(a, b + 1) if s not in have])


def _serials_in(producer_id: int, a: int, b: int, *conditions: Any) -> list[int]:
    return list(
        db.session.scalars(
            select(Stamp.serial)
            .where(Stamp.producer_id == producer_id, Stamp.serial.between(a, b), *conditions)
            .order_by(Stamp.serial)
            .limit(2_000)
        )
    )


def activate_range(
    producer_id: int, first: Any, last: Any, batch_id: Any, actor_id: int | None = None
) -> RangeResult:
    """Activate serials first..last of the producer for one of its lots: all or nothing.

    Refused as a whole, naming the conflict, when any serial is missing (never printed for
    this producer), not new (active or void), or printed for another product or lot. One
    conditional UPDATE … WHERE state = 'new' does the change; if it touches fewer rows than
    the range holds (someone activated part of it a moment ago) it raises Conflict and the
    caller's unit of work rolls back, so a stamp is never assigned twice.
    """
    a, b = _check_range(first, last)
    lot_id = parse_id(batch_id)
    batch = db.session.get(Batch, lot_id) if lot_id is not None else None
    if batch is None or batch.producer_id != producer_id:
        raise Invalid(_("Chọn một lô hàng của cơ sở."), fields={"batch_id": _("Chọn lô")})
    if batch.status == BatchStatus.RECALLED:
        raise Invalid(
            _("Lô %(lot)s đã bị thu hồi: không kích hoạt thêm tem.", lot=batch.lot_code),
            fields={"batch_id": _("Lô đã bị thu hồi")},
        )
    size = b - a + 1
    missing = _missing_in_range(producer_id, a, b)
    if missing:
        raise Conflict(
            _(
                "Không kích hoạt: tem số %(serials)s không có trong các đợt in của cơ sở này. "
                "Không có tem nào bị thay đổi.",
                serials=missing,
            )
        )
    for state, message in (
        (
            StampState.ACTIVE,
            _(
                "Không kích hoạt: tem số %(serials)s đã được kích hoạt trước đó. "
                "Không có tem nào bị thay đổi."
            ),
        ),
        (
            StampState.VOID,
            _("Không kích hoạt: tem số %(serials)s đã bị hủy. Không có tem nào bị thay đổi."),
        ),
    ):
        taken = _serials_in(producer_id, a, b, Stamp.state == state.value)
        if taken:
            raise Conflict(message % {"serials": _span(taken)})
    mismatched = db.session.execute(
        select(StampRun.id, func.min(Stamp.serial), func.max(Stamp.serial))
        .join(Stamp, Stamp.run_id == StampRun.id)
        .where(
            Stamp.producer_id == producer_id,
            Stamp.serial.between(a, b),
            or_(
                and_(StampRun.product_id.is_not(None), StampRun.product_id != batch.product_id),
                and_(StampRun.batch_id.is_not(None), StampRun.batch_id != batch.id),
            ),
        )
        .group_by(StampRun.id)
    ).first()
    if mismatched is not None:
        raise Conflict(
            _(
                "Không kích hoạt: tem số %(first)s–%(last)s (đợt in #%(run)s) được in cho "
                "sản phẩm hoặc lô khác. Không có tem nào bị thay đổi.",
                first=mismatched[1],
                last=mismatched[2],
                run=mismatched[0],
            )
        )
    result = db.session.execute(
        update(Stamp)
        .where(
            Stamp.producer_id == producer_id,
            Stamp.serial.between(a, b),
            Stamp.state == StampState.NEW.value,
        )
        .values(
            state=StampState.ACTIVE.value,
            batch_id=batch.id,
            activated_at=utcnow(),
            activated_by_id=actor_id,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != size:
        raise Conflict(
            _(
                "Một số tem trong khoảng %(first)s–%(last)s vừa được người khác kích hoạt hoặc "
                "hủy. Không có tem nào bị thay đổi; vui lòng tải lại trang và thử lại.",
                first=a,
                last=b,
            )
        )
    return RangeResult(a, b, size)


def void_range(
    producer_id: int, first: Any, last: Any, reason: Any, actor_id: int | None = None
) -> RangeResult:
    """Void damaged or lost stamps (new or active): all or nothing, with a reason."""
    a, b = _check_range(first, last)
    reason = clean(str(reason or ""))
    if not 3 <= len(reason) <= 300:
        raise Invalid(
            _("Ghi lý do hủy (3–300 ký tự), ví dụ: tem bị rách."),
            fields={"reason": _("Ghi lý do hủy")},
        )
    size = b - a + 1
    missing = _missing_in_range(producer_id, a, b)
    if missing:
        raise Conflict(
            _(
                "Không hủy: tem số %(serials)s không có trong các đợt in của cơ sở này. "
                "Không có tem nào bị thay đổi.",
                serials=missing,
            )
        )
    already = _serials_in(producer_id, a, b, Stamp.state == StampState.VOID.value)
    if already:
        raise Conflict(
            _(
                "Không hủy: tem số %(serials)s đã bị hủy trước đó. Không có tem nào bị thay đổi.",
                serials=_span(already),
            )
        )
    result = db.session.execute(
        update(Stamp)
        .where(
            Stamp.producer_id == producer_id,
            Stamp.serial.between(a, b),
            Stamp.state != StampState.VOID.value,
        )
        .values(state=StampState.VOID.value, voided_at=utcnow(), void_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != size:
        raise Conflict(
            _(
                "Một số tem vừa được người khác hủy. Không có tem nào bị thay đổi; "
                "vui lòng tải lại trang và thử lại."
            )
        )
    return RangeResult(a, b, size)
