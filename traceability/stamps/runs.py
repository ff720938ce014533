"""Stamp runs: ordering N stamps (serials, codes, bindings), and reading runs and stamps back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from cooperatives.models import Producer, Product
from cooperatives.products import product_names
from core.db import db
from core.errors import Invalid, NotFound
from core.gs1 import normalize_gtin
from core.numbers import parse_int
from traceability.models import Batch, BatchStatus, Stamp, StampRun, StampState
from traceability.stamps import journal
from traceability.stamps.codes import (
    CHUNK,
    DL_SERIAL_LENGTH,
    MAX_RUN,
    Progress,
    pin_hash,
    pin_key,
    random_codes,
    stamp_pin,
    stamp_url,
)

# ------------------------------------------------------------------------------------- runs


def _producer_for_update(producer_id: int) -> Producer:
    # Serials are allocated under a lock on the producer row (PostgreSQL), so two runs ordered
    # at once never overlap; SQLite serialises writers and the unique (producer, serial) backs it.
    producer = db.session.scalar(
        select(Producer).where(Producer.id == producer_id).with_for_update()
    )
    if producer is None:
        raise NotFound(_("Không tìm thấy cơ sở sản xuất."))
    return producer


def _binding(
    producer_id: int, product_id: int | None, batch_id: int | None
) -> tuple[Product | None, Batch | None]:
    product = batch = None
    if batch_id is not None:
        batch = db.session.get(Batch, batch_id)
        if batch is None or batch.producer_id != producer_id:
            raise Invalid(_("Lô hàng không thuộc cơ sở này."), fields={"batch_id": _("Chọn lô")})
        if batch.status == BatchStatus.RECALLED:
            raise Invalid(
                _("Lô %(lot)s đã bị thu hồi: không in tem cho lô này.", lot=batch.lot_code),
                fields={"batch_id": _("Lô đã bị thu hồi")},
            )
        if product_id is not None and product_id != batch.product_id:
            raise Invalid(
                _("Lô %(lot)s không phải của sản phẩm đã chọn.", lot=batch.lot_code),
                fields={"batch_id": _("Lô không khớp sản phẩm")},
            )
        product_id = batch.product_id
    if product_id is not None:
        product = db.session.get(Product, product_id)
        if product is None or product.producer_id != producer_id:
            raise Invalid(
                _("Sản phẩm không thuộc cơ sở này."), fields={"product_id": _("Chọn sản phẩm")}
            )
    return product, batch


def check_quantity(quantity: Any) -> int:
    value = parse_int(quantity, minimum=1, maximum=MAX_RUN)
    if value is None:
        raise Invalid(
            _("Số tem mỗi lần đặt từ 1 đến %(max)s.", max=f"{MAX_RUN:,}".replace(",", ".")),
            fields={"quantity": _("Từ 1 đến %(max)s", max=f"{MAX_RUN:,}".replace(",", "."))},
        )
    return value


# Long on purpose: serials under a lock, then bulk INSERTs of 5,000 with a clash check.
def create_run(
    producer_id: int,
    quantity: Any,
    *,
    product_id: int | None = None,
    batch_id: int | None = None,
    with_pin: bool = False,
    created_by_id: int | None = None,
    progress: Progress | None = None,
    actor_role: str | None = None,
) -> StampRun:
    """Order `quantity` stamps: the next serials of the producer, random codes, optional PINs.

    Rows go in by bulk INSERTs of 5,000 (no ORM object per stamp); 100,000 take a few seconds.
    With `actor_role` (a person acting for the producer) the order goes into the audit log.
    """
    quantity = check_quantity(quantity)
    product, batch = _binding(producer_id, product_id, batch_id)
    _producer_for_update(producer_id)
    last = db.session.scalar(
        select(func.max(StampRun.last_serial)).where(StampRun.producer_id == producer_id)
    )
    first = (last or 0) + 1
    dl_gtin = None
    if product is not None and batch is not None and product.gtin:
        try:
            dl_gtin = normalize_gtin(product.gtin)
        except ValueError:  # a malformed GTIN is never printed
            dl_gtin = None
    run = StampRun(
        producer_id=producer_id,
        product_id=product.id if product else None,
        batch_id=batch.id if batch else None,
        quantity=quantity,
        first_serial=first,
        last_serial=first + quantity - 1,
        with_pin=bool(with_pin),
        dl_gtin=dl_gtin,
        dl_lot=batch.lot_code if dl_gtin and batch else None,
        created_by_id=created_by_id,
    )
    db.session.add(run)
    db.session.flush()

    key = pin_key() if with_pin else b""
    table = Stamp.__table__
    code_column = table.c.code
    for start in range(0, quantity, CHUNK):
        size = min(CHUNK, quantity - start)
        codes = random_codes(size)
        # 2**64 codes make a clash with an existing stamp all but impossible; check anyway.
        clash = set(db.session.scalars(select(code_column).where(code_column.in_(codes))))
        while clash:
            codes = [c for c in codes if c not in clash]
            codes += random_codes(size - len(codes), taken=set(codes) | clash)
            clash = set(db.session.scalars(select(code_column).where(code_column.in_(codes))))
        dl_serials = _dl_serials(size) if dl_gtin else [None] * size
        rows = []
        for offset, (code, dl_serial) in enumerate(zip(codes, dl_serials, strict=True)):
            serial = first + start + offset
            rows.append(
                {
                    "run_id": run.id,
                    "producer_id": producer_id,
                    "serial": serial,
                    "code": code,
                    "dl_serial": dl_serial,
                    "pin_hash": pin_hash(code, stamp_pin(run.id, serial, key), key)
                    if with_pin
                    else None,
                    "state": StampState.NEW.value,
                    "scan_count": 0,
                }
            )
        db.session.execute(table.insert(), rows)
        if progress is not None:
            progress(size)
    if actor_role is not None:
        journal.run_ordered(run, created_by_id, actor_role)
    return run


def _dl_serials(size: int) -> list[str | None]:
    """Random AI 21 values for a chunk of Digital Link stamps, none already printed."""
    column = Stamp.__table__.c.dl_serial
    serials = random_codes(size, length=DL_SERIAL_LENGTH)
    clash = set(db.session.scalars(select(column).where(column.in_(serials))))
    while clash:
        serials = [s for s in serials if s not in clash]
        serials += random_codes(
            size - len(serials), taken=set(serials) | clash, length=DL_SERIAL_LENGTH
        )
        clash = set(db.session.scalars(select(column).where(column.in_(serials))))
    return list(serials)


def get_run(producer_id: int, run_id: int) -> StampRun:
    run = db.session.get(StampRun, run_id)
    if run is None or run.producer_id != producer_id:
        raise NotFound(_("Không tìm thấy đợt in tem."))
    return run


def runs_of(producer_id: int, limit: int = 200) -> list[StampRun]:
    return list(
        db.session.scalars(
            select(StampRun)
            .where(StampRun.producer_id == producer_id)
            .order_by(StampRun.id.desc())
            .limit(limit)
        )
    )


def state_counts(run_ids: list[int]) -> dict[int, dict[str, int]]:
    """Stamps per state for each run: {run_id: {"new": n, "active": n, "void": n}}."""
    counts: dict[int, dict[str, int]] = {
        run_id: {state.value: 0 for state in StampState} for run_id in run_ids
    }
    if not run_ids:
        return counts
    rows = db.session.execute(
        select(Stamp.run_id, Stamp.state, func.count())
        .where(Stamp.run_id.in_(run_ids))
        .group_by(Stamp.run_id, Stamp.state)
    )
    for run_id, state, count in rows:
        counts[run_id][state] = count
    return counts


def get_stamp(producer_id: int, serial: int) -> Stamp:
    stamp = db.session.scalar(
        select(Stamp).where(Stamp.producer_id == producer_id, Stamp.serial == serial)
    )
    if stamp is None:
        raise NotFound(_("Không có tem số %(serial)s.", serial=serial))
    return stamp


def stamp_with_url(producer_id: int, serial: int) -> tuple[Stamp, str]:
    """One stamp of the producer and the address its QR code carries."""
    stamp = get_stamp(producer_id, serial)
    run = db.session.get(StampRun, stamp.run_id)
    return stamp, stamp_url(run, serial, stamp.code, dl_serial=stamp.dl_serial)


def sample_url(run: StampRun) -> str:
    """The address printed on the run's first stamp ("" for a run without stamps)."""
    first = db.session.execute(
        select(Stamp.serial, Stamp.code, Stamp.dl_serial)
        .where(Stamp.run_id == run.id)
        .order_by(Stamp.serial)
    ).first()
    return stamp_url(run, first[0], first[1], dl_serial=first[2]) if first else ""


def run_lot(run: StampRun) -> Batch | None:
    """The lot a run was printed for, if any."""
    return db.session.get(Batch, run.batch_id) if run.batch_id else None


def lots_to_stamp(producer_id: int, limit: int = 200) -> list[tuple[Batch, str]]:
    """The producer's open lots, newest first, each with its product's name: the lots stamps
    may be printed for or activated on."""
    names = product_names(producer_id)
    lots = db.session.scalars(
        select(Batch)
        .where(Batch.producer_id == producer_id, Batch.status == BatchStatus.ACTIVE)
        .order_by(Batch.produced_on.desc(), Batch.id.desc())
        .limit(limit)
    )
    return [(lot, names.get(lot.product_id, "")) for lot in lots]


@dataclass(frozen=True)
class LotStamps:
    lot: Batch
    ranges: list[dict[str, Any]]  # consecutive serials of one state: first, last, state
    total: int
    scanned: int


def stamps_of_lot(producer_id: int, batch_id: int, max_ranges: int = 500) -> LotStamps:
    """The stamps activated for one of the producer's lots, as serial ranges, with the scans."""
    lot = db.session.get(Batch, batch_id)
    if lot is None or lot.producer_id != producer_id:
        raise NotFound()
    rows = db.session.execute(
        select(Stamp.serial, Stamp.state)
        .where(Stamp.producer_id == producer_id, Stamp.batch_id == batch_id)
        .order_by(Stamp.serial)
    ).all()
    ranges: list[dict[str, Any]] = []
    for serial, state in rows:
        if ranges and ranges[-1]["state"] == state and ranges[-1]["last"] == serial - 1:
            ranges[-1]["last"] = serial
        else:
            ranges.append({"first": serial, "last": serial, "state": state})
    scanned = db.session.scalar(
        select(func.coalesce(func.sum(Stamp.scan_count), 0)).where(Stamp.batch_id == batch_id)
    )
    return LotStamps(lot, ranges[:max_ranges], len(rows), int(scanned or 0))
