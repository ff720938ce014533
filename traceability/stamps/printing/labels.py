"""A run's labels: their text, the serial range to print, and the sheets of a whole run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from cooperatives.ocop import valid_certificate
from core.db import db
from core.errors import Invalid
from core.numbers import parse_int
from core.urls import public_url
from traceability.models import Stamp, StampRun, StampState
from traceability.stamps import journal
from traceability.stamps.codes import pin_key, stamp_pin, stamp_url
from traceability.stamps.printing.sheet import (
    LabelText,
    SheetLayout,
    SheetResult,
    SheetStream,
    StampLabel,
    render_sheets,
)

# --------------------------------------------------------------------------------------------
# A run
# --------------------------------------------------------------------------------------------


def label_text(run: StampRun) -> LabelText:
    if run.product is None:
        return LabelText(title=run.producer.name)
    certificate = valid_certificate(run.product.id)
    return LabelText(title=run.product.name_vi, stars=certificate.stars if certificate else None)


def print_range(run: StampRun, first: Any = None, last: Any = None) -> tuple[int, int]:
    """The serials to print: the whole run unless a part of it is asked for."""
    a = run.first_serial if first in (None, "") else parse_int(first, minimum=1)
    b = run.last_serial if last in (None, "") else parse_int(last, minimum=1)
    if a is None or b is None:
        raise Invalid(_l("Số sê-ri phải là số nguyên."), fields={"first": str(_l("Nhập số"))})
    if not run.first_serial <= a <= b <= run.last_serial:
        raise Invalid(
            _l(
                "Đợt in này gồm tem số %(first)s đến %(last)s.",
                first=run.first_serial,
                last=run.last_serial,
            ),
            fields={"first": str(_l("Ngoài đợt in"))},
        )
    return a, b


def run_labels(run: StampRun, first: int, last: int) -> Iterator[StampLabel]:
    """Labels of serials first..last in order, streamed from the database (void ones left
    out: a voided stamp is never printed again). PINs are derived, never read."""
    base = public_url()
    key = pin_key() if run.with_pin else b""
    rows = db.session.execute(
        select(Stamp.serial, Stamp.code, Stamp.dl_serial)
        .where(
            Stamp.run_id == run.id,
            Stamp.serial.between(first, last),
            Stamp.state != StampState.VOID.value,
        )
        .order_by(Stamp.serial)
        .execution_options(yield_per=2_000)
    )
    for serial, code, dl_serial in rows:
        yield StampLabel(
            serial=serial,
            code=code,
            url=stamp_url(run, serial, code, base, dl_serial),
            pin=stamp_pin(run.id, serial, key) if run.with_pin else None,
        )


def count_labels(run: StampRun, first: int, last: int) -> int:
    """How many labels serials first..last give (void stamps are never printed)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Stamp)
            .where(
                Stamp.run_id == run.id,
                Stamp.serial.between(first, last),
                Stamp.state != StampState.VOID.value,
            )
        )
        or 0
    )


def stream_run(
    run: StampRun,
    layout: SheetLayout,
    *,
    first: Any = None,
    last: Any = None,
    actor_id: int | None = None,
    actor_role: str | None = None,
) -> SheetStream:
    """The sheets of serials first..last as a PDF made page by page while it is sent (the
    labels are read from the database as the pages are made, in whatever application context
    iterates it). With `actor_role` the printing
    goes into the audit log now, in the caller's unit of work, before anything is sent."""
    a, b = print_range(run, first, last)
    title = f"Chợ Quê — tem {run.first_serial}–{run.last_serial} (#{run.id})"
    if actor_role is not None:
        labels = count_labels(run, a, b)
        journal.sheets_printed(run, a, b, layout.key, labels, actor_id, actor_role)
    return SheetStream(_labels_later(run.id, a, b), label_text(run), layout, title=title)


def _labels_later(run_id: int, first: int, last: int) -> Iterator[StampLabel]:
    """run_labels, the run read again when the first label is wanted: the pages may be made
    after the request's session has closed (a streamed download)."""
    run = db.session.get(StampRun, run_id)
    if run is not None:
        yield from run_labels(run, first, last)


def print_run(
    run: StampRun,
    out: Any,
    layout: SheetLayout,
    *,
    first: Any = None,
    last: Any = None,
    progress: Any = None,
    actor_id: int | None = None,
    actor_role: str | None = None,
) -> SheetResult:
    """Sheets of serials first..last of a run; with `actor_role` (a person acting for the
    producer: PINs were printed) the printing goes into the audit log."""
    a, b = print_range(run, first, last)
    title = f"Chợ Quê — tem {run.first_serial}–{run.last_serial} (#{run.id})"
    result = render_sheets(
        run_labels(run, a, b), label_text(run), layout, out, title=title, progress=progress
    )
    if actor_role is not None:
        journal.sheets_printed(run, a, b, layout.key, result.labels, actor_id, actor_role)
    return result
