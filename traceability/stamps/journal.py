"""The audit entries of stamp work (who ordered, printed, activated, voided what), written by the
services in the caller's unit of work when a person acting for the producer did it."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from accounts.audit import record
from traceability.models import StampRun


def _entry(
    actor_id: int | None,
    actor_role: str,
    producer_id: int,
    action: str,
    subject: tuple[str, int | None],
    summary: str,
    **details: Any,
) -> None:
    record(
        actor_id,
        action,
        producer_id=producer_id,
        actor_role=actor_role,
        subject_type=subject[0],
        subject_id=subject[1],
        summary=summary,
        details=details,
    )


def run_ordered(run: StampRun, actor_id: int | None, actor_role: str) -> None:
    summary = ngettext(
        "Đặt %(n)s tem, số %(first)s–%(last)s",
        "Đặt %(n)s tem, số %(first)s–%(last)s",
        run.quantity,
        n=run.quantity,
        first=run.first_serial,
        last=run.last_serial,
    )
    _entry(
        actor_id,
        actor_role,
        run.producer_id,
        "stamps.run.create",
        ("stamp_run", run.id),
        summary,
        quantity=run.quantity,
        with_pin=run.with_pin,
    )


def sheets_printed(
    run: StampRun,
    first: int,
    last: int,
    layout: str,
    labels: int,
    actor_id: int | None,
    actor_role: str,
) -> None:
    summary = _("In tem số %(first)s–%(last)s (%(layout)s)", first=first, last=last, layout=layout)
    _entry(
        actor_id,
        actor_role,
        run.producer_id,
        "stamps.run.print",
        ("stamp_run", run.id),
        summary,
        first=first,
        last=last,
        layout=layout,
        labels=labels,
    )


def range_activated(
    producer_id: int,
    batch_id: int,
    lot_code: str,
    span: tuple[int, int, int],
    actor_id: int | None,
    actor_role: str,
) -> None:
    first, last, count = span
    summary = _(
        "Kích hoạt tem số %(first)s–%(last)s cho lô %(lot)s", first=first, last=last, lot=lot_code
    )
    _entry(
        actor_id,
        actor_role,
        producer_id,
        "stamps.activate",
        ("batch", batch_id),
        summary,
        first=first,
        last=last,
        count=count,
    )


def range_voided(
    producer_id: int,
    span: tuple[int, int, int],
    reason: str,
    actor_id: int | None,
    actor_role: str,
) -> None:
    first, last, count = span
    summary = _("Hủy tem số %(first)s–%(last)s: %(reason)s", first=first, last=last, reason=reason)
    _entry(
        actor_id,
        actor_role,
        producer_id,
        "stamps.void",
        ("stamp", None),
        summary,
        first=first,
        last=last,
        count=count,
    )
