"""Stamps for the scan benchmark: `flask bench-data --stamps 1000000`.

Runs of 10,000 stamps, each run with a lot (batch) of a bench product; within a run the first
85% are activated for the lot (a few of them voided), the rest still new; about one lot in thirty
is recalled. Codes come from the stamps module's generator (13 characters, no look-alikes).
Core bulk inserts in batches of 5,000 inside one transaction; no ORM object per row.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import click
from sqlalchemy import func, insert, select

from cooperatives.models import Producer, Product
from core.db import db, utcnow
from traceability.models import Batch, Stamp, StampRun
from traceability.stamps import random_codes

SLUG_PREFIX = "bench-"
RUN_SIZE = 10_000
BATCH_ROWS = 5_000
ACTIVE_SHARE = 0.85
VOID_SHARE = 0.02  # of the activated stamps
RECALLED_EVERY = 30  # one lot in thirty is recalled
SEED = 20251124
RECALL_REASON = "Mẫu kiểm nghiệm không đạt (dữ liệu thử tải)"


# Long on purpose: a benchmark data generator, bulk inserts in sequence.
def generate(producers: int = 1000, products: int = 100_000, stamps: int = 0) -> str:
    if stamps <= 0:
        return "no stamps asked (use --stamps N)"
    existing = db.session.scalar(
        select(func.count())
        .select_from(StampRun)
        .join(Producer, Producer.id == StampRun.producer_id)
        .where(Producer.slug.startswith(SLUG_PREFIX))
    )
    if existing:
        return f"bench stamps already present ({existing} bench runs); nothing added"
    runs = math.ceil(stamps / RUN_SIZE)
    candidates = db.session.execute(
        select(Product.id, Product.producer_id, Producer.province_code, Producer.ward_code)
        .join(Producer, Producer.id == Product.producer_id)
        .where(Product.slug.startswith(SLUG_PREFIX), Product.status == "published")
        .order_by(Product.id)
        .limit(runs * 5)
    ).all()
    if not candidates:
        raise click.ClickException("no bench products: run `flask bench-data` with --products")

    started = time.perf_counter()
    rng = random.Random(SEED)
    now = utcnow()
    chosen = [candidates[i * len(candidates) // runs] for i in range(runs)]
    batch_ids = _insert_batches(rng, chosen, now)

    next_serial: dict[int, int] = {}
    run_rows: list[dict[str, Any]] = []
    for index, (product_id, producer_id, _province, _ward) in enumerate(chosen):
        quantity = min(RUN_SIZE, stamps - index * RUN_SIZE)
        first = next_serial.get(producer_id, 1)
        next_serial[producer_id] = first + quantity
        run_rows.append(
            {
                "producer_id": producer_id,
                "product_id": product_id,
                "batch_id": None,  # printed before harvest, activated later
                "quantity": quantity,
                "first_serial": first,
                "last_serial": first + quantity - 1,
                "with_pin": False,
                "created_by_id": None,
                "created_at": now,
            }
        )
    run_ids = list(
        db.session.execute(
            insert(StampRun.__table__).returning(
                StampRun.__table__.c.id, sort_by_parameter_order=True
            ),
            run_rows,
        ).scalars()
    )

    codes = random_codes(stamps)
    counts = {"active": 0, "new": 0, "void": 0}
    stamp_table = Stamp.__table__
    stmt = insert(stamp_table)
    with click.progressbar(length=stamps, label="stamps") as bar:
        for chunk in _stamp_rows(rng, run_ids, run_rows, batch_ids, codes, now, counts):
            db.session.execute(stmt, chunk)
            bar.update(len(chunk))
    db.session.commit()
    elapsed = time.perf_counter() - started
    recalled = db.session.scalar(
        select(func.count())
        .select_from(Batch)
        .where(Batch.id.in_(batch_ids), Batch.status == "recalled")
    )
    return (
        f"{runs} lots ({recalled} recalled), {runs} runs, {stamps} stamps "
        f"({counts['active']} active, {counts['new']} new, {counts['void']} void) in "
        f"{elapsed:.1f} s ({stamps / max(elapsed, 1e-9):,.0f} stamps/s)"
    )


def _insert_batches(rng: random.Random, chosen: list[Any], now: Any) -> list[int]:
    today = date.today()
    rows: list[dict[str, Any]] = []
    for index, (product_id, producer_id, province_code, ward_code) in enumerate(chosen, 1):
        produced = today - timedelta(days=rng.randint(3, 120))
        recalled = index % RECALLED_EVERY == 0
        rows.append(
            {
                "producer_id": producer_id,
                "product_id": product_id,
                "lot_code": f"BENCH-{produced:%y%m}-{index:04d}",
                "produced_on": produced,
                "best_before": produced + timedelta(days=rng.choice((30, 90, 365))),
                "expires_on": None,
                "quantity": Decimal(rng.randint(200, 5_000)),
                "unit": "kg",
                "origin_province_code": province_code,
                "origin_ward_code": ward_code,
                "origin_text": "",
                "latitude": None,
                "longitude": None,
                "standards": rng.choice((["VietGAP"], ["VietGAP", "TCCS"], ["hữu cơ"], [])),
                "inputs_used": "Phân hữu cơ vi sinh; tưới nước giếng khoan",
                "notes": "",
                "status": "recalled" if recalled else "active",
                "recalled_at": now if recalled else None,
                "recall_reason": "Mẫu kiểm nghiệm không đạt (dữ liệu thử tải)"
                if recalled
                else None,
                "recalled_by_id": None,
                "recall_origin_id": None,
                "chain_head": None,
                "created_by_id": None,
                "created_at": now,
            }
        )
    table = Batch.__table__
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(db.session.execute(stmt, rows).scalars())


def _stamp_rows(
    rng: random.Random,
    run_ids: list[int],
    runs: list[dict[str, Any]],
    batch_ids: list[int],
    codes: list[str],
    now: Any,
    counts: dict[str, int],
) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    position = 0
    for run_id, run, batch_id in zip(run_ids, runs, batch_ids, strict=True):
        activated = int(run["quantity"] * ACTIVE_SHARE)
        for offset in range(run["quantity"]):
            if offset < activated:
                state = "void" if rng.random() < VOID_SHARE else "active"
            else:
                state = "new"
            counts[state] += 1
            chunk.append(
                {
                    "run_id": run_id,
                    "producer_id": run["producer_id"],
                    "serial": run["first_serial"] + offset,
                    "code": codes[position],
                    "pin_hash": None,
                    "state": state,
                    "batch_id": batch_id if offset < activated else None,
                    "activated_at": now if offset < activated else None,
                    "activated_by_id": None,
                    "voided_at": now if state == "void" else None,
                    "void_reason": "Tem rách khi dán" if state == "void" else None,
                    "scan_count": 0,
                    "first_scanned_at": None,
                    "last_scanned_at": None,
                    "pin_verified_at": None,
                }
            )
            position += 1
            if len(chunk) >= BATCH_ROWS:
                yield chunk
                chunk = []
    if chunk:
        yield chunk
