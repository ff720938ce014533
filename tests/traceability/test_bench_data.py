"""`flask bench-data --stamps N`: unique unguessable codes in runs, a realistic mix of states."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from cooperatives import bench_data as catalog_bench
from core.db import db
from traceability import bench_data
from traceability.models import Batch, Stamp, StampRun
from traceability.stamps import ALPHABET


def test_stamps_come_in_runs_with_unique_codes_and_mixed_states(app, ctx, monkeypatch):
    monkeypatch.setattr(bench_data, "RUN_SIZE", 400)
    catalog_bench.generate(producers=4, products=40)
    summary = bench_data.generate(stamps=1_000)
    assert "1000 stamps" in summary
    stamps = db.session.execute(select(Stamp.code, Stamp.state, Stamp.batch_id)).all()
    assert len(stamps) == 1_000
    assert len({code for code, _s, _b in stamps}) == 1_000
    pattern = re.compile(f"[{ALPHABET}]{{13}}")
    assert all(pattern.fullmatch(code) for code, _s, _b in stamps)
    states = {state for _c, state, _b in stamps}
    assert states == {"active", "new", "void"}
    assert all(batch is None for _c, state, batch in stamps if state == "new")
    assert all(batch is not None for _c, state, batch in stamps if state == "active")
    assert db.session.scalar(select(func.count()).select_from(StampRun)) == 3


def test_serials_follow_on_per_producer_and_match_their_run(app, ctx):
    catalog_bench.generate(producers=2, products=10)
    bench_data.generate(stamps=50)
    for run in db.session.scalars(select(StampRun)):
        serials = db.session.scalars(
            select(Stamp.serial).where(Stamp.run_id == run.id).order_by(Stamp.serial)
        ).all()
        assert serials == list(range(run.first_serial, run.last_serial + 1))


def test_some_lots_are_recalled_and_a_second_run_adds_nothing(app, ctx, monkeypatch):
    monkeypatch.setattr(bench_data, "RUN_SIZE", 10)
    catalog_bench.generate(producers=40, products=400)
    bench_data.generate(stamps=600)
    statuses = db.session.scalars(select(Batch.status)).all()
    assert statuses.count("recalled") == 2 and len(statuses) == 60
    assert "already present" in bench_data.generate(stamps=600)
    assert db.session.scalar(select(func.count()).select_from(Stamp)) == 600


def test_no_stamps_asked_means_no_stamps(app, ctx):
    assert "no stamps" in bench_data.generate(stamps=0)
    assert db.session.scalar(select(func.count()).select_from(Stamp)) == 0
