"""`flask stamps …`: order runs, print sheets, activate and void serial ranges, show samples,
warm the scan page's lot parts after a deploy.

Each command is one unit of work: the service changes, one commit at the end, rollback and a
plain message on a refused operation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from core.cli_types import ID, WholeNumber
from core.db import db, unit_of_work
from core.errors import DomainError
from core.urls import public_url
from traceability import stamps
from traceability.models import StampRun
from traceability.stamps import printing


def _unit_of_work(command: Callable[..., Any]) -> Callable[..., Any]:
    """The command in one unit of work; a domain error becomes a plain message on stderr."""

    @wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            with unit_of_work():
                return command(*args, **kwargs)
        except DomainError as error:
            details = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
            message = str(error.message) + (f" ({details})" if details else "")
            raise click.ClickException(message) from None

    return wrapped


stamps_cli = AppGroup("stamps", help="QR stamps: runs, printing, activation.")


@stamps_cli.command("create")
@click.option("--producer", "producer_id", type=ID, required=True, help="producer id")
@click.option("--quantity", type=WholeNumber(), required=True, help="1 to 100,000 stamps")
@click.option("--product", "product_id", type=ID, help="product printed on the labels")
@click.option("--batch", "batch_id", type=ID, help="lot bound at print time (GS1 link)")
@click.option("--pin/--no-pin", default=False, help="scratch-off PINs")
@_unit_of_work
def create(
    producer_id: int, quantity: int, product_id: int | None, batch_id: int | None, pin: bool
) -> None:
    """Order a run of stamps (serials continue the producer's previous runs)."""
    if not 1 <= quantity <= stamps.MAX_RUN:
        stamps.check_quantity(quantity)
    with click.progressbar(length=quantity, label="stamps") as bar:
        run = stamps.create_run(
            producer_id,
            quantity,
            product_id=product_id,
            batch_id=batch_id,
            with_pin=pin,
            progress=bar.update,
        )
    click.echo(
        f"run {run.id}: serials {run.first_serial}–{run.last_serial}"
        + (" with PINs" if run.with_pin else "")
    )


@stamps_cli.command("print")
@click.argument("run_id", type=ID)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="PDF file to write",
)
@click.option(
    "--layout",
    default=printing.DEFAULT_LAYOUT,
    show_default=True,
    type=click.Choice([*sorted(printing.PRESETS), "custom"]),
    help="A4 label sheet; 'custom' takes the millimetre options below, as the web form",
)
@click.option("--columns", help="custom: labels across (1–10)")
@click.option("--rows", help="custom: labels down (1–30)")
@click.option("--label-width", help="custom: label width, mm")
@click.option("--label-height", help="custom: label height, mm")
@click.option("--margin-left", default="0", show_default=True, help="custom: left margin, mm")
@click.option("--margin-top", default="0", show_default=True, help="custom: top margin, mm")
@click.option("--gap-x", default="0", show_default=True, help="custom: gap between columns, mm")
@click.option("--gap-y", default="0", show_default=True, help="custom: gap between rows, mm")
@click.option("--from", "first", type=ID, help="first serial (default: the run's first)")
@click.option("--to", "last", type=ID, help="last serial (default: the run's last)")
@_unit_of_work
def print_command(
    run_id: int,
    out_path: str,
    layout: str,
    first: int | None,
    last: int | None,
    **custom: str | None,
) -> None:
    """Write a run's labels to an A4 PDF (PINs included: keep the file safe)."""
    run = db.session.get(StampRun, run_id)
    if run is None:
        raise click.ClickException(f"no stamp run {run_id}")
    try:  # the same checks as the web form: labels fit A4, QR codes of at least 15 mm
        sheet = printing.layout_for(layout, **custom)
    except DomainError as error:
        fields = "; ".join(f"--{k.replace('_', '-')}: {v}" for k, v in error.fields.items())
        raise click.ClickException(f"{error.message} {fields}".strip()) from error
    a, b = printing.print_range(run, first, last)
    target = Path(out_path)
    with target.open("wb") as out, click.progressbar(length=b - a + 1, label="labels") as bar:
        result = printing.print_run(run, out, sheet, first=a, last=b, progress=bar.update)
    click.echo(f"{result.labels} labels on {result.pages} pages ({sheet.title}) → {target}")


@stamps_cli.command("activate")
@click.option("--producer", "producer_id", type=ID, required=True)
@click.option("--from", "first", type=ID, required=True)
@click.option("--to", "last", type=ID, required=True)
@click.option("--batch", "batch_id", type=ID, required=True, help="lot of the same producer")
@_unit_of_work
def activate(producer_id: int, first: int, last: int, batch_id: int) -> None:
    """Activate serials FROM..TO for a lot: all of them, or none."""
    result = stamps.activate_range(producer_id, first, last, batch_id)
    click.echo(f"activated {result.count} stamps ({result.first}–{result.last}) for lot {batch_id}")


@stamps_cli.command("void")
@click.option("--producer", "producer_id", type=ID, required=True)
@click.option("--serial", "first", type=ID, required=True, help="serial (or first of a range)")
@click.option("--to", "last", type=ID, help="last serial of a range")
@click.option("--reason", required=True, help="why, e.g. 'tem bị rách'")
@_unit_of_work
def void(producer_id: int, first: int, last: int | None, reason: str) -> None:
    """Void damaged stamps: they scan as 'void' and are never printed again."""
    result = stamps.void_range(producer_id, first, last or first, reason)
    click.echo(f"voided {result.count} stamps ({result.first}–{result.last})")


@stamps_cli.command("sample")
def sample() -> None:
    """Print one demo stamp per state as `STATE RUN_ID URL` lines."""
    from traceability.stamps.demo import sample_stamps

    found = sample_stamps()
    base = public_url()
    for state in ("active", "not-activated", "void", "recalled"):
        stamp = found.get(state)
        if stamp is None:
            click.echo(f"no {state} stamp (run `flask seed-demo`)", err=True)
            continue
        run = db.session.get(StampRun, stamp.run_id)
        url = stamps.stamp_url(run, stamp.serial, stamp.code, base, stamp.dl_serial)
        click.echo(f"{state} {run.id} {url}")


@stamps_cli.command("warm")
def warm() -> None:
    """Render every lot's part of the scan page into Redis before a new release takes traffic."""
    from flask import current_app

    from traceability.stamps.warming import lot_stamps, warm_lot_parts

    if not current_app.config.get("REDIS_URL"):
        click.echo("REDIS_URL is not set: each worker keeps its own lot parts, nothing to warm")
        return
    started = time.perf_counter()
    count = warm_lot_parts(lot_stamps())
    click.echo(f"{count} lot parts ready in Redis ({time.perf_counter() - started:.1f} s)")


def init_app(app: Flask) -> None:
    app.cli.add_command(stamps_cli)
