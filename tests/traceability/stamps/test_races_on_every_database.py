"""Races on the scan counter and on stamp activation, run on BOTH databases (no postgres_only):
real threads, each with its own connection, against the session's file database (SQLite in
WAL mode, or PostgreSQL).

They catch the two mutations that used to survive on SQLite: a counter updated from a value
read earlier (lost update), and an activation UPDATE without its `state = 'new'` guard (a
stamp assigned twice). On SQLite the reads of the pre-checks run outside the write lock, so
without the guard the second activation overwrites the first; with it, it touches fewer rows
than asked and rolls back.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from cooperatives.models import Product
from core.db import db
from core.errors import Conflict
from tests.factories import make_batch
from tests.traceability.stamps.test_stamps_support import make_farm, scan_at_once
from traceability import stamps
from traceability.models import Scan, Stamp

THREADS = 6
SCANS_EACH = 20


def test_concurrent_scans_of_one_stamp_are_all_counted(app):
    assert app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0] in ("sqlite", "postgresql+psycopg")
    assert ":memory:" not in app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        farm = make_farm(3)
        stamps.activate_range(farm.producer_id, 1, 3, farm.batch_id)
        db.session.commit()
    code = farm.codes[1]
    scan_at_once(app, [code], threads=THREADS, each=SCANS_EACH)
    with app.app_context():
        stamp = db.session.scalar(select(Stamp).where(Stamp.code == code))
        rows = db.session.scalar(
            select(func.count()).select_from(Scan).where(Scan.stamp_id == stamp.id)
        )
        assert (stamp.scan_count, rows) == (THREADS * SCANS_EACH, THREADS * SCANS_EACH)


def test_overlapping_activations_never_assign_a_stamp_twice(app):
    with app.app_context():
        farm = make_farm(400)
        second_lot = make_batch(db.session.get(Product, farm.product_id), lot_code="CP-RACE-B")
        db.session.commit()
        lots = [farm.batch_id, second_lot.id]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def activate(first: int, last: int, lot: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                stamps.activate_range(farm.producer_id, first, last, lot)
                time.sleep(0.3)  # hold the write while the other one checks and runs into it
                db.session.commit()
                outcomes.append("ok")
            except Conflict:
                db.session.rollback()
                outcomes.append("conflict")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [
        threading.Thread(target=activate, args=(1, 300, lots[0])),
        threading.Thread(target=activate, args=(200, 400, lots[1])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(outcomes) == ["conflict", "ok"]
    with app.app_context():
        rows = db.session.execute(
            select(Stamp.serial, Stamp.batch_id).where(
                Stamp.producer_id == farm.producer_id, Stamp.state == "active"
            )
        ).all()
        active = dict(rows)
        assert sorted(active) in (list(range(1, 301)), list(range(200, 401)))
        assert len(set(active.values())) == 1
