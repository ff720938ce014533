"""Lineage of lots: the parents a lot was made from (how much of each), its children, and
every lot downstream of one (what a recall reaches)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from accounts import audit
from core.db import db
from core.errors import Invalid
from core.numbers import parse_id
from traceability.lots.event_kinds import EventKind, normalize_quantity
from traceability.lots.events import append_locked, lock_batch
from traceability.models import Batch, BatchInput, BatchStatus, TraceEvent

MAX_PARENTS = 20


def _load_parents(producer_id: int, parent_ids: Iterable[Any]) -> list[Batch]:
    ids: list[int] = []
    for raw in parent_ids or ():
        value = parse_id(raw)
        if value is None:
            raise Invalid(fields={"parents": _("Lô nguồn không hợp lệ.")})
        if value not in ids:
            ids.append(value)
    if len(ids) > MAX_PARENTS:
        raise Invalid(fields={"parents": _("Tối đa %(n)s lô nguồn.", n=MAX_PARENTS)})
    if not ids:
        return []
    found = {
        b.id: b
        for b in db.session.scalars(
            select(Batch).where(Batch.id.in_(ids), Batch.producer_id == producer_id)
        )
    }
    if len(found) != len(ids):
        # The same answer for unknown lots and other producers' lots: ids reveal nothing.
        raise Invalid(fields={"parents": _("Lô nguồn phải là lô của chính cơ sở bạn.")})
    recalled = [b.lot_code for b in found.values() if b.status == BatchStatus.RECALLED]
    if recalled:
        raise Invalid(
            fields={
                "parents": _(
                    "Lô %(lots)s đã bị thu hồi, không dùng được.", lots=", ".join(recalled)
                )
            }
        )
    return [found[i] for i in ids]


def _parent_shares(
    parents: Sequence[Batch], quantities: Mapping[int, Any], errors: dict[str, str]
) -> dict[int, tuple[str | None, str | None]]:
    """How much of each parent went in (optional), in the parent's unit."""
    shares: dict[int, tuple[str | None, str | None]] = {}
    for parent in parents:
        raw = quantities.get(parent.id)
        if raw in (None, ""):
            shares[parent.id] = (None, None)
            continue
        try:
            shares[parent.id] = (normalize_quantity(raw), parent.unit)
        except Invalid:
            errors["parents"] = _("Số lượng lấy từ lô %(lot)s không hợp lệ.", lot=parent.lot_code)
    return shares


def _parents_detail(
    parents: Sequence[Batch], shares: Mapping[int, tuple[str | None, str | None]]
) -> list[dict[str, Any]]:
    out = []
    for parent in parents:
        quantity, unit = shares.get(parent.id, (None, None))
        item: dict[str, Any] = {"batch_id": parent.id, "lot_code": parent.lot_code}
        if quantity is not None:
            item.update(quantity=quantity, unit=unit)
        out.append(item)
    return out


def _link(
    child: Batch, parents: Sequence[Batch], shares: Mapping[int, tuple[str | None, str | None]]
) -> None:
    for parent in parents:
        quantity, unit = shares.get(parent.id, (None, None))
        db.session.add(
            BatchInput(
                child_id=child.id,
                parent_id=parent.id,
                quantity=Decimal(quantity) if quantity else None,
                unit=unit,
            )
        )
    db.session.flush()


def add_parents(
    batch_id: int,
    parent_ids: Iterable[Any],
    *,
    parent_quantities: Mapping[int, Any] | None = None,
    recorded_by_id: int | None = None,
    actor_role: str = "",
) -> TraceEvent:
    """Record that an existing lot was (also) made from other lots of the same producer."""
    child = lock_batch(batch_id)
    errors: dict[str, str] = {}
    parents = _load_parents(child.producer_id, parent_ids)
    if not parents:
        raise Invalid(fields={"parents": _("Chọn ít nhất một lô nguồn.")})
    existing = set(
        db.session.scalars(select(BatchInput.parent_id).where(BatchInput.child_id == child.id))
    )
    if any(p.id in existing for p in parents):
        raise Invalid(fields={"parents": _("Lô nguồn này đã được ghi.")})
    forbidden = {child.id, *descendant_ids(child.id)}
    looped = [p.lot_code for p in parents if p.id in forbidden]
    if looped:
        raise Invalid(
            fields={
                "parents": _(
                    "Lô %(lots)s được làm ra từ lô này, không thể là lô nguồn của nó.",
                    lots=", ".join(looped),
                )
            }
        )
    shares = _parent_shares(parents, parent_quantities or {}, errors)
    if errors:
        raise Invalid(fields=errors)
    _link(child, parents, shares)
    event = append_locked(
        child,
        EventKind.TRANSFORMING,
        event_time=None,
        location_ward_code=child.origin_ward_code,
        details={"parents": _parents_detail(parents, shares)},
        recorded_by_id=recorded_by_id,
    )
    audit.record(
        recorded_by_id,
        "batch.add_parents",
        producer_id=child.producer_id,
        actor_role=actor_role,
        subject_type="batch",
        subject_id=child.id,
        summary=_(
            "Lô %(lot)s làm từ %(parents)s",
            lot=child.lot_code,
            parents=", ".join(p.lot_code for p in parents),
        ),
        details={"parents": [p.id for p in parents]},
    )
    return event


def parents(batch: Batch | int) -> list[Batch]:
    """One step back: the lots this lot was made from."""
    batch_id = batch if isinstance(batch, int) else batch.id
    return list(
        db.session.scalars(
            select(Batch)
            .join(BatchInput, BatchInput.parent_id == Batch.id)
            .where(BatchInput.child_id == batch_id)
            .order_by(Batch.produced_on, Batch.id)
        )
    )


def children(batch: Batch | int) -> list[Batch]:
    """One step forward: the lots made from this lot."""
    batch_id = batch if isinstance(batch, int) else batch.id
    return list(
        db.session.scalars(
            select(Batch)
            .join(BatchInput, BatchInput.child_id == Batch.id)
            .where(BatchInput.parent_id == batch_id)
            .order_by(Batch.produced_on, Batch.id)
        )
    )


def descendant_ids(batch_id: int) -> list[int]:
    """Every lot made, directly or not, from this one (breadth first, one query per level)."""
    seen: set[int] = {batch_id}
    order: list[int] = []
    frontier = [batch_id]
    while frontier:
        rows = db.session.scalars(
            select(BatchInput.child_id).where(BatchInput.parent_id.in_(frontier))
        ).all()
        frontier = []
        for child_id in rows:
            if child_id not in seen:
                seen.add(child_id)
                order.append(child_id)
                frontier.append(child_id)
    return order
