"""Manager pages for batches (lots), their trace events and recalls, under /manage/<producer>.

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
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from wtforms.fields.choices import SelectChoice

from accounts.models import User
from cooperatives.access import MANAGERS, Acting
from cooperatives.access import current_acting as _acting
from cooperatives.models import MemberRole, Membership, Producer, Product, ProductStatus
from core import places
from core.db import db, unit_of_work, utcnow
from core.errors import DomainError, Invalid, NotFound
from core.i18n import LOCAL_TZ, local_today
from core.numbers import parse_id
from traceability.lots import batches, events, lineage, recalls
from traceability.lots.chain import verify_chain
from traceability.lots.epcis import lot_uri
from traceability.lots.forms import (
    BatchForm,
    CorrectionForm,
    EventForm,
    ParentsForm,
    PhotoForm,
    RecallForm,
    choice,
)
from traceability.lots.summary import trace_summary as summary_of
from traceability.models import Batch, BatchStatus, TraceEvent

bp = Blueprint("traceability", __name__)
MAX_ID = 2**31 - 1  # larger ids cannot exist; the databases would refuse to compare them


@bp.url_value_preprocessor
def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    for value in (values or {}).values():
        if isinstance(value, int) and value > MAX_ID:
            raise NotFound()


# Fields each kind shows on the event form (kept short: a farmer records one thing at a time).
KIND_FORM_FIELDS: dict[str, tuple[str, ...]] = {
    events.EventKind.PLANTING: ("crop", "area", "note"),
    events.EventKind.INPUTS: ("inputs", "note"),
    events.EventKind.HARVESTING: ("quantity", "unit", "note"),
    events.EventKind.INSPECTING: ("result", "inspector", "note"),
    events.EventKind.PACKING: ("packaging", "quantity", "unit", "note"),
    events.EventKind.STORING: ("note",),
    events.EventKind.SHIPPING: ("destination", "carrier", "quantity", "unit", "note"),
    events.EventKind.RECEIVING: ("source", "quantity", "unit", "note"),
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
    return events.unit_label(value)


def _render(template: str, acting: Acting, status: int = 200, **context: Any):
    return (
        render_template(
            template,
            acting=acting,
            producer=acting.producer,
            kind_label=events.kind_label,
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


def _ward_choices(producer: Producer) -> list[SelectChoice]:
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
    names = dict(
        db.session.execute(
            select(Product.id, Product.name_vi).where(Product.producer_id == producer_id)
        ).all()
    )
    return _render("traceability/batches/list.html", acting, items=items, product_names=names)


def _batch_form_choices(form: BatchForm, acting: Acting) -> None:
    producer = acting.producer
    products = db.session.scalars(
        select(Product)
        .where(Product.producer_id == producer.id, Product.status != ProductStatus.ARCHIVED)
        .order_by(Product.name_vi)
    ).all()
    form.product_id.choices = [choice("", _("— Chọn sản phẩm —"))] + [
        choice(p.id, p.name_vi) for p in products
    ]
    form.origin_ward_code.choices = _ward_choices(producer)
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
        return _render("traceability/batches/form.html", acting, form=form)
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
        return _render("traceability/batches/form.html", acting, form=form, status=422)
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
    return _render(
        "traceability/batches/detail.html",
        acting,
        status=status,
        batch=batch,
        summary=summary,
        chain=chain,
        # only an address that answers: the GS1 Digital Link needs the product's GTIN
        identifier=lot_uri(batch, summary.product) if summary.product.gtin else "",
        entered_by=_entered_by(batch),
        recordable=[
            (k, events.kind_label(k)) for k in events.RECORDABLE_KINDS if _may_record(summary, k)
        ],
        recall_form=recall_form or RecallForm(formdata=None),
        photo_form=photo_form or PhotoForm(formdata=None),
        parents_form=parents_form,
        can_recall=acting.role in MANAGERS,
        stamp_links=_stamp_links(batch.producer_id, batch.id),
        max_photos=batches.MAX_PHOTOS,
        ward_name=_ward_name,
        results=events.INSPECTION_RESULTS,
        correctable=frozenset(KIND_FORM_FIELDS),
    )


def _has_harvest(summary: Any) -> bool:
    return any(
        e.kind == events.EventKind.HARVESTING and e.state == "current" for e in summary.events
    )


def _may_record(summary: Any, kind: str) -> bool:
    """Saving a lot records its harvest: a second one is offered only once that is undone."""
    return kind != events.EventKind.HARVESTING or not _has_harvest(summary)


def _entered_by(batch: Batch) -> tuple[str, bool] | None:
    """Who entered the lot and whether as a community helper (their work is attributed)."""
    if batch.created_by_id is None:
        return None
    user = db.session.get(User, batch.created_by_id)
    if user is None:
        return None
    helper = db.session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id,
            Membership.producer_id == batch.producer_id,
            Membership.role == MemberRole.HELPER,
        )
    )
    return user.name, helper is not None


def _ward_name(code: int | None) -> str:
    place = places.ward(code)
    return place.name if place else ""


@bp.get("/manage/<int:producer_id>/batches/<int:batch_id>")
@login_required
def batch_detail(producer_id: int, batch_id: int):
    acting = _acting(producer_id)
    batch = batches.get_batch(producer_id, batch_id)
    return _batch_page(acting, batch)


# ---- events ------------------------------------------------------------------------------------


def _event_form_setup(form: EventForm, acting: Acting) -> None:
    form.location_ward_code.choices = [
        choice("", _("— Không chọn —")),
        *_ward_choices(acting.producer),
    ]


def _kind_or_404(kind: str | None) -> str:
    if kind not in events.RECORDABLE_KINDS:
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
    if not _may_record(summary_of(batch.id), kind):
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
            when = events.time_from_form(form.day.data, form.clock.data)
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
    flash(_("Đã ghi: %(kind)s.", kind=events.kind_label(kind)))
    return redirect(url_for(".batch_detail", producer_id=producer_id, batch_id=batch_id))


def _event_page(
    acting: Acting,
    batch: Batch,
    form: EventForm,
    kind: str,
    status: int = 200,
    original: TraceEvent | None = None,
):
    return _render(
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
    original = db.session.get(TraceEvent, event_id)
    if original is None or original.batch_id != batch.id:
        raise NotFound()
    if original.kind not in KIND_FORM_FIELDS:
        raise NotFound()
    kind = original.kind
    if request.method == "GET":
        form = CorrectionForm(formdata=None)
        local = events.local_event_time(original)
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
                when = events.time_from_form(form.day.data, form.clock.data)
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
        original = db.session.get(TraceEvent, event_id)
        return _event_page(acting, batch, form, kind, status=422, original=original)
    flash(_("Đã ghi bản sửa. Bản cũ vẫn được giữ và đánh dấu là đã sửa."))
    return redirect(url_for(".batch_detail", producer_id=producer_id, batch_id=batch_id))


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
    batch = db.session.get(Batch, batch_id)
    user = current_user._get_current_object()
    if batch is None:
        raise NotFound()
    role = recalls.recall_authority(user, batch.producer)
    if role is None:
        raise NotFound()
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
