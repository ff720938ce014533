"""`flask trace …`: check the tamper-evident chains of trace events."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from core.cli_types import ID
from core.db import db
from traceability.lots.chain import verify_chain
from traceability.models import Batch

trace = AppGroup("trace", help="Truy xuất nguồn gốc: kiểm tra chuỗi sự kiện của các lô.")


@trace.command("verify")
@click.option("--batch", "batch_id", type=ID, default=None, help="chỉ kiểm tra lô có id này")
def verify(batch_id: int | None) -> None:
    """Recompute every event hash; print one line per lot; exit 1 if any chain is broken."""
    if batch_id is not None:
        if db.session.get(Batch, batch_id) is None:
            raise click.ClickException(f"no batch with id {batch_id}")
        ids = [batch_id]
    else:
        ids = list(db.session.scalars(select(Batch.id).order_by(Batch.id)))
    broken = 0
    with click.progressbar(ids, label="verify", file=sys.stderr) as bar:
        reports = []
        for current in bar:
            reports.append(verify_chain(current))
            db.session.expunge_all()  # keep memory flat over many lots
    for report in reports:
        if report.ok:
            click.echo(f"OK      batch {report.batch_id} {report.lot_code}: {report.events} events")
        else:
            broken += 1
            click.echo(
                f"BROKEN  batch {report.batch_id} {report.lot_code}: event {report.broken_event_id}"
                f" (seq {report.broken_seq}) {report.problem}: expected {report.expected},"
                f" found {report.found}"
            )
    click.echo(f"{len(reports)} batches checked, {broken} broken")
    if broken:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(trace)
