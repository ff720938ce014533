"""Manager pages for batches (lots), their lineage, photos and recalls, under /manage/<producer>
(the trace event forms are in event_views.py, on the same blueprint), and the authorities' recall.

Each view: parse → authorise (require_member: other producers' ids are 404) → call a service →
commit once → redirect; on bad input re-render the form with what was typed, status 422.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage
from wtforms.fields.choices import SelectChoice

from cooperatives import memberships, products
from cooperatives.access import MANAGERS, Acting
from cooperatives.access import current_acting as _acting
from cooperatives.models import Producer
from core import places
from core.db import unit_of_work
from core.errors import DomainError, Invalid, NotFound
from core.i18n import local_today
from core.numbers import parse_id
from traceability.lots import batches, event_kinds, lineage, recalls
from traceability.lots.chain import verify_chain
from traceability.lots.epcis import lot_uri
from traceability.lots.forms import (
    BatchForm,
    ParentsForm,
    PhotoForm,
    RecallForm,
    choice,
)
from traceability.lots.summary import trace_summary as summary_of
from traceability.models import Batch, BatchStatus

bp = Blueprint("traceability", __name__)
MAX_ID = 2**31 - 1  # larger ids cannot exist; the databases would refuse to compare them


@bp.url_value_preprocessor
def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    for value in (values or {}).values():
        if isinstance(value, int) and value > MAX_ID:
            raise NotFound()


# Fields each kind shows on the event form (kept short: a farmer records one thing at a time).
KIND_FORM_FIELDS: dict[str, tuple[str, ...]] = {
    event_kinds.EventKind.PLANTING: ("crop", "area", "note"),
    event_kinds.EventKind.INPUTS: ("inputs", "note"),
    event_kinds.EventKind.HARVESTING: ("quantity", "unit", "note"),
    event_kinds.EventKind.INSPECTING: ("result", "inspector", "note"),
    event_kinds.EventKind.PACKING: ("packaging", "quantity", "unit", "note"),
    event_kinds.EventKind.STORING: ("note",),
    event_kinds.EventKind.SHIPPING: ("destination", "carrier", "quantity", "unit", "note"),
    event_kinds.EventKind.RECEIVING: ("source", "quantity", "unit", "note"),
}
# Candidate stamp pages of the stamps area, linked only when they exist.
STAMP_ENDPOINTS = (
    ("stamps.batch_stamps", _l("Tem của lô này")),
    ("stamps.run_new", _l("In tem cho lô này")),
    ("stamps.activate", _l("Kích hoạt tem cho lô này")),
    ("stamps.runs", _l("Các đợt in tem")),
)


@bp.app_template_filter("trace_qty")
def trace_qty(value: Any) -> str:
    """5000.000 → "5.000" (vi) / "5,000" (en): quantities without trailing zeros."""
    if value in (None, ""):
        return ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return format_decimal(number.normalize(), format="#,##0.###")


@bp.app_template_filter("unit_label")
def unit_label_filter(value: str | None) -> str:
    return event_kinds.unit_label(value)


def render_page(template: str, acting: Acting, status: int = 200, **context: Any):
    return (
        render_template(
            template,
            acting=acting,
            producer=acting.producer,
            kind_label=event_kinds.kind_label,
            standard_label=batches.standard_label,
            BatchStatus=BatchStatus,
            **context,
        ),
        status,
    )


def _upload(field: Any) -> FileStorage | None:
    data = field.data
    if isinstance(data, FileStorage) and data.filename:
        return data
    return None


def ward_choices(producer: Producer) -> list[SelectChoice]:
    return [choice(w.code, w.name) for w in places.wards_of(producer.province_code)]


def _first_error(error: DomainError) -> str:
    if error.fields:
        return str(next(iter(error.fields.values())))
    return str(error.message)


# ---- list and create ---------------------------------------------------------------------------


@bp.get("/manage/<int:producer_id>/batches")
@login_required
def batch_list(producer_id: int):
    acting = _acting(producer_id)
    items = batches.batches_of(producer_id)
    names = products.product_names(producer_id)
    return render_page("traceability/batches/list.html", acting, items=items, product_names=names)


def _batch_form_choices(form: BatchForm, acting: Acting) -> None:
    producer = acting.producer
    form.product_id.choices = [choice("", _("— Chọn sản phẩm —"))] + [
        choice(p.id, p.name_vi) for p in products.products_to_choose(producer.id)
    ]
    form.origin_ward_code.choices = ward_choices(producer)
    form.parents.choices = [
        choice(b.id, f"{b.lot_code} · {b.produced_on:%d/%m/%Y}")
        for b in batches.batches_of(producer.id, limit=60)
        if b.status == BatchStatus.ACTIVE
    ]


@bp.route("/manage/<int:producer_id>/batches/new", methods=["GET", "POST"])
@login_required
def batch_create(producer_id: int):
    acting = _acting(producer_id)
    if request.method == "GET":
        form = BatchForm(formdata=None)
        form.origin_ward_code.data = str(acting.producer.ward_code)
        form.produced_on.data = local_today().isoformat()
        form.unit.data = "kg"
        if request.args.get("product_id", type=parse_id):
            form.product_id.data = str(request.args.get("product_id", type=parse_id))
        _batch_form_choices(form, acting)
        return render_page("traceability/batches/form.html", acting, form=form)
    form = BatchForm()
    _batch_form_choices(form, acting)
    photo = _upload(form.photo)
    try:
        with unit_of_work():
            batch = batches.create_batch(
                producer_id,
                product_id=form.product_id.data,
                lot_code=form.lot_code.data or "",
                produced_on=form.produced_on.data,
                quantity=form.quantity.data,
                unit=form.unit.data or "",
                best_before=form.best_before.data,
                expires_on=form.expires_on.data,
                origin_ward_code=form.origin_ward_code.data,
                origin_text=form.origin_text.data or "",
                latitude=form.latitude.data,
                longitude=form.longitude.data,
                standards=form.standards.data or [],
                other_standards=form.other_standards.data or "",
                inputs_used=form.inputs_used.data or "",
                notes=form.notes.data or "",
                parent_ids=form.parents.data or [],
                created_by_id=acting.user.id,
                actor_role=acting.role,
            )
            if photo is not None:
                batches.add_photo(
                    batch.id, photo.stream, actor_id=acting.user.id, actor_role=acting.role
                )
    except DomainError as error:
        form.show_errors(error)
        return render_page("traceability/batches/form.html", acting, form=form, status=422)
    batch_id, lot = batch.id, batch.lot_code
    flash(_("Đã ghi lô %(lot)s.", lot=lot))
    return redirect(url_for(".batch_detail", producer_id=producer_id, batch_id=batch_id))


# ---- the batch page ----------------------------------------------------------------------------


def _stamp_links(producer_id: int, batch_id: int) -> list[tuple[str, str]]:
    links = []
    for endpoint, label in STAMP_ENDPOINTS:
        if endpoint in current_app.view_functions:
            url = url_for(endpoint, producer_id=producer_id, batch_id=batch_id)
            links.append((str(label), url))
    return links


def _batch_page(
    acting: Acting,
    batch: Batch,
    status: int = 200,
    recall_form: RecallForm | None = None,
    photo_form: PhotoForm | None = None,
    parents_form: ParentsForm | None = None,
):
    summary = summary_of(batch.id)
    chain = verify_chain(batch.id)
    parents_form = parents_form or ParentsForm(formdata=None)
    known = {ref.id for ref in summary.parents} | {batch.id}
    parents_form.parents.choices = [
        choice(b.id, f"{b.lot_code} · {b.produced_on:%d/%m/%Y}")
        for b in batches.batches_of(batch.producer_id, limit=60)
        if b.status == BatchStatus.ACTIVE and b.id not in known
    ]
    return render_page(
        "traceability/batches/detail.html",
        acting,
        status=status,
        batch=batch,
        summary=summary,
        chain=chain,
        # only an address that answers: the GS1 Digital Link needs the product's GTIN
        identifier=lot_uri(batch, summary.product) if summary.product.gtin else "",
        entered_by=memberships.attribution(batch.created_by_id, batch.producer_id),
        recordable=[
            (k, event_kinds.kind_label(k))
            for k in event_kinds.RECORDABLE_KINDS
            if may_record(summary, k)
        ],
        recall_form=recall_form or RecallForm(formdata=None),
        photo_form=photo_form or PhotoForm(formdata=None),
        parents_form=parents_form,
        can_recall=acting.role in MANAGERS,
        stamp_links=_stamp_links(batch.producer_id, batch.id),
        max_photos=batches.MAX_PHOTOS,
        ward_name=_ward_name,
        results=event_kinds.INSPECTION_RESULTS,
        correctable=frozenset(KIND_FORM_FIELDS),
    )


def _has_harvest(summary: Any) -> bool:
    return any(
        e.kind == event_kinds.EventKind.HARVESTING and e.state == "current" for e in summary.events
    )


def may_record(summary: Any, kind: str) -> bool:
    """Saving a lot records its harvest: a second one is offered only once that is undone."""
    return kind != event_kinds.EventKind.HARVESTING or not _has_harvest(summary)


def _ward_name(code: int | None) -> str:
    place = places.ward(code)
    return place.name if place else ""


@bp.get("/manage/<int:producer_id>/batches/<int:batch_id>")
@login_required
def batch_detail(producer_id: int, batch_id: int):
    acting = _acting(producer_id)
    batch = batches.get_batch(producer_id, batch_id)
    return _batch_page(acting, batch)


# ---- lineage, photos, recall -------------------------------------------------------------------


@bp.post("/manage/<int:producer_id>/batches/<int:batch_id>/parents")
@login_required
def batch_parents(producer_id: int, batch_id: int):
    acting = _acting(producer_id)
    batch = batches.get_batch(producer_id, batch_id)
    form = ParentsForm()
    try:
        with unit_of_work():
            lineage.add_parents(
                batch.id,
                form.parents.data or [],
                recorded_by_id=acting.user.id,
                actor_role=acting.role,
            )
    except DomainError as error:
        form.show_errors(error)
        batch = batches.get_batch(producer_id, batch_id)
        return _batch_page(acting, batch, status=422, parents_form=form)
    flash(_("Đã ghi lô nguồn."))
    return redirect(url_for(".batch_detail", producer_id=producer_id, batch_id=batch_id))


@bp.post("/manage/<int:producer_id>/batches/<int:batch_id>/photos")
@login_required
def batch_photo(producer_id: int, batch_id: int):
    acting = _acting(producer_id)
    batch = batches.get_batch(producer_id, batch_id)
    form = PhotoForm()
    photo = _upload(form.photo)
    try:
        with unit_of_work():
            if photo is None:
                raise Invalid(fields={"photo": _("Chọn một ảnh.")})
            batches.add_photo(
                batch.id, photo.stream, actor_id=acting.user.id, actor_role=acting.role
            )
    except DomainError as error:
        form.show_errors(error)
        batch = batches.get_batch(producer_id, batch_id)
        return _batch_page(acting, batch, status=422, photo_form=form)
    flash(_("Đã thêm ảnh."))
    return redirect(url_for(".batch_detail", producer_id=producer_id, batch_id=batch_id))


@bp.post("/manage/<int:producer_id>/batches/<int:batch_id>/recall")
@login_required
def batch_recall(producer_id: int, batch_id: int):
    acting = _acting(producer_id, MANAGERS)
    batch = batches.get_batch(producer_id, batch_id)
    form = RecallForm()
    try:
        with unit_of_work():
            result = recalls.recall_batch(
                batch.id,
                reason=form.reason.data or "",
                actor_id=acting.user.id,
                actor_role=acting.role,
            )
    except DomainError as error:
        form.show_errors(error)
        batch = batches.get_batch(producer_id, batch_id)
        return _batch_page(acting, batch, status=error.status, recall_form=form)
    more = len(result.batch_ids) - 1
    if more:
        message = ngettext(
            "Đã thu hồi lô và %(n)s lô làm từ lô này.",
            "Đã thu hồi lô và %(n)s lô làm từ lô này.",
            more,
            n=more,
        )
        flash(message, "warning")
    else:
        flash(_("Đã thu hồi lô."), "warning")
    return redirect(url_for(".batch_detail", producer_id=producer_id, batch_id=batch_id))


# ---- authorities: recall any lot in their province ---------------------------------------------


@bp.route("/recalls/batches/<int:batch_id>", methods=["GET", "POST"])
@login_required
def authority_recall(batch_id: int):
    """An OCOP council member of the producer's province (or a platform admin) recalls a lot."""
    user = current_user._get_current_object()
    batch, role = recalls.lot_for_authority(user, batch_id)
    summary = summary_of(batch.id)
    if request.method == "GET":
        form = RecallForm(formdata=None)
        return render_template(
            "traceability/batches/authority_recall.html", summary=summary, form=form
        )
    form = RecallForm()
    try:
        with unit_of_work():
            recalls.recall_batch(
                batch.id, reason=form.reason.data or "", actor_id=user.id, actor_role=role
            )
    except DomainError as error:
        form.show_errors(error)
        summary = summary_of(batch_id)
        html = render_template(
            "traceability/batches/authority_recall.html", summary=summary, form=form
        )
        return html, error.status
    flash(_("Đã thu hồi lô."), "warning")
    return redirect(url_for(".authority_recall", batch_id=batch_id))
