"""Trace event forms of a lot: record an event, correct or retract one (a correction is a new
event; the original stays). Routes of the `traceability` blueprint (views.py).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from cooperatives.access import Acting
from cooperatives.access import current_acting as _acting
from core.db import unit_of_work, utcnow
from core.errors import DomainError, NotFound
from core.i18n import LOCAL_TZ
from traceability.lots import batches, event_kinds, events
from traceability.lots.forms import CorrectionForm, EventForm, choice
from traceability.lots.summary import trace_summary as summary_of
from traceability.lots.views import KIND_FORM_FIELDS, bp, may_record, render_page, ward_choices
from traceability.models import Batch, TraceEvent


def _event_form_setup(form: EventForm, acting: Acting) -> None:
    form.location_ward_code.choices = [
        choice("", _("— Không chọn —")),
        *ward_choices(acting.producer),
    ]


def _kind_or_404(kind: str | None) -> str:
    if kind not in event_kinds.RECORDABLE_KINDS:
        raise NotFound()
    return kind  # type: ignore[return-value]


def _details_from(form: EventForm, kind: str) -> dict[str, Any]:
    return {name: getattr(form, name).data for name in KIND_FORM_FIELDS[kind]}


@bp.route("/manage/<int:producer_id>/batches/<int:batch_id>/events/new", methods=["GET", "POST"])
@login_required
def event_add(producer_id: int, batch_id: int):
    acting = _acting(producer_id)
    batch = batches.get_batch(producer_id, batch_id)
    kind = _kind_or_404(request.values.get("kind"))
    if not may_record(summary_of(batch.id), kind):
        flash(
            _(
                "Lô này đã có sự kiện thu hoạch (ghi khi lưu lô). Muốn đổi thì sửa sự kiện đó "
                "trong Hành trình."
            ),
            "warning",
        )
        return redirect(
            url_for(".batch_detail", producer_id=producer_id, batch_id=batch_id), code=303
        )
    if request.method == "GET":
        form = EventForm(formdata=None)
        now = utcnow().astimezone(LOCAL_TZ)
        form.kind.data = kind
        form.day.data = now.date().isoformat()
        form.clock.data = now.strftime("%H:%M")
        form.location_ward_code.data = str(batch.origin_ward_code or "")
        _event_form_setup(form, acting)
        return _event_page(acting, batch, form, kind)
    form = EventForm()
    _event_form_setup(form, acting)
    try:
        with unit_of_work():
            when = event_kinds.time_from_form(form.day.data, form.clock.data)
            events.record_event(
                batch.id,
                kind,
                event_time=when,
                location_ward_code=form.location_ward_code.data or None,
                location_text=form.location_text.data or "",
                details=_details_from(form, kind),
                recorded_by_id=acting.user.id,
                actor_role=acting.role,
            )
    except DomainError as error:
        form.show_errors(error)
        return _event_page(acting, batch, form, kind, status=422)
    flash(_("Đã ghi: %(kind)s.", kind=event_kinds.kind_label(kind)))
    return redirect(url_for(".batch_detail", producer_id=producer_id, batch_id=batch_id))


def _event_page(
    acting: Acting,
    batch: Batch,
    form: EventForm,
    kind: str,
    status: int = 200,
    original: TraceEvent | None = None,
):
    return render_page(
        "traceability/batches/event_form.html",
        acting,
        status=status,
        batch=batch,
        form=form,
        kind=kind,
        fields=KIND_FORM_FIELDS[kind],
        original=original,
    )


@bp.route(
    "/manage/<int:producer_id>/batches/<int:batch_id>/events/<int:event_id>/correct",
    methods=["GET", "POST"],
)
@login_required
def event_correct(producer_id: int, batch_id: int, event_id: int):
    acting = _acting(producer_id)
    batch = batches.get_batch(producer_id, batch_id)
    original = events.event_of(batch.id, event_id)
    if original.kind not in KIND_FORM_FIELDS:
        raise NotFound()
    kind = original.kind
    if request.method == "GET":
        form = CorrectionForm(formdata=None)
        local = event_kinds.local_event_time(original)
        form.kind.data = kind
        form.day.data = local.date().isoformat()
        form.clock.data = local.strftime("%H:%M")
        form.location_ward_code.data = str(original.location_ward_code or "")
        form.location_text.data = original.location_text
        for name in KIND_FORM_FIELDS[kind]:
            value = (original.details or {}).get(name)
            if value is not None:
                getattr(form, name).data = value
        _event_form_setup(form, acting)
        return _event_page(acting, batch, form, kind, original=original)
    form = CorrectionForm()
    _event_form_setup(form, acting)
    try:
        with unit_of_work():
            if form.retract.data:
                events.correct_event(
                    batch.id,
                    original.id,
                    reason=form.reason.data or "",
                    retract=True,
                    recorded_by_id=acting.user.id,
                    actor_role=acting.role,
                )
            else:
                when = event_kinds.time_from_form(form.day.data, form.clock.data)
                events.correct_event(
                    batch.id,
                    original.id,
                    reason=form.reason.data or "",
                    event_time=when,
                    location_ward_code=form.location_ward_code.data or None,
                    location_text=form.location_text.data or "",
                    details=_details_from(form, kind),
                    recorded_by_id=acting.user.id,
                    actor_role=acting.role,
                )
    except DomainError as error:
        form.show_errors(error)
        original = events.event_of(batch.id, event_id)
        return _event_page(acting, batch, form, kind, status=422, original=original)
    flash(_("Đã ghi bản sửa. Bản cũ vẫn được giữ và đánh dấu là đã sửa."))
    return redirect(url_for(".batch_detail", producer_id=producer_id, batch_id=batch_id))
