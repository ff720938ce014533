"""Shared arrangements for the stamp tests (no tests here): a producer with a product, a lot
and a run of stamps, built through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.db import db
from core.gs1 import normalize_gtin
from tests.factories import make_batch, make_certificate, make_producer, make_product, make_user
from traceability import stamps
from traceability.models import Stamp


@dataclass(frozen=True)
class Farm:
    producer_id: int
    manager_id: int
    product_id: int
    batch_id: int
    run_id: int
    codes: dict[int, str]  # serial -> code


def make_farm(
    quantity: int = 10,
    *,
    gtin: str | None = None,
    pin: bool = False,
    bind_lot: bool = False,
    lot_code: str = "CP-2026-11A",
    certificate: bool = True,
) -> Farm:
    """Call inside an app context; commits, so the data is visible to requests."""
    manager = make_user(name="Bà Lan")
    producer = make_producer(name="HTX Cam Cao Phong", manager=manager, street="Xóm Đồi")
    product = make_product(producer, name="Cam Cao Phong loại 1", gtin=normalize_gtin(gtin))
    if certificate:
        make_certificate(product, total="80")
    batch = make_batch(
        product,
        lot_code=lot_code,
        produced_on=date(2026, 11, 10),
        standards=["VietGAP"],
        best_before=date(2026, 12, 10),
    )
    run = stamps.create_run(
        producer.id,
        quantity,
        product_id=product.id,
        batch_id=batch.id if bind_lot else None,
        with_pin=pin,
        created_by_id=manager.id,
    )
    codes = dict(
        db.session.execute(db.select(Stamp.serial, Stamp.code).where(Stamp.run_id == run.id)).all()
    )
    farm = Farm(producer.id, manager.id, product.id, batch.id, run.id, codes)
    db.session.commit()
    return farm


def scan_at_once(app, codes: list[str], *, threads: int, each: int, headers=None) -> None:
    """`threads` clients scan `each` times at the same moment, cycling through `codes`, each
    scan from its own address (the per-address limit is switched off meanwhile); every answer
    must be a 200."""
    import threading

    from core.security import limiter

    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def scan(n: int) -> None:
        client = app.test_client()
        try:
            barrier.wait()
            for i in range(each):
                code = codes[(n + i) % len(codes)]
                response = client.get(
                    f"/s/{code}", headers=headers, environ_base={"REMOTE_ADDR": f"10.{n}.{i}.1"}
                )
                assert response.status_code == 200
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=scan, args=(n,)) for n in range(threads)]
    limiter.enabled = False
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        limiter.enabled = True
    assert errors == []
