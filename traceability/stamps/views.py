"""Manager pages for QR stamps under /manage/<producer>/stamps: order runs, print sheets,
activate serial ranges for a lot, void damaged stamps.

Each view: parse → authorise (require_member: another producer's ids answer 404) → call a
service (which writes the audit entry) in one unit of work → redirect or send; bad input
re-renders the form with what was typed, status 422, nothing saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required
from wtforms import SelectChoice

from cooperatives.access import Acting
from cooperatives.access import current_acting as _acting
from cooperatives.models import MemberRole
from cooperatives.products import products_to_choose
from core.db import unit_of_work
from core.errors import DomainError, Invalid
from core.forms import options
from core.numbers import parse_id, parse_int
from traceability import stamps
from traceability.models import StampRun, StampState
from traceability.stamps import printing
from traceability.stamps.forms import ActivateForm, PrintForm, RunForm, VoidForm

bp = Blueprint("stamps", __name__)

# Who may order, print (PINs!), activate and void: the manager, or a community helper the
# producer invited (the audit log names the helper). Members see the runs.
STAMP_ROLES = frozenset({MemberRole.MANAGER, MemberRole.HELPER})
MAX_WEB_PRINT = 20_000  # labels per download; `flask stamps print` for more


def _render(template: str, acting: Acting, status: int = 200, **context: Any):
    return (
        render_template(
            template,
            acting=acting,
            producer=acting.producer,
            can_change=acting.role in STAMP_ROLES,
            **context,
        ),
        status,
    )


def _lot_choices(producer_id: int, empty: str | None) -> list[SelectChoice]:
    choices = [("", empty)] if empty else []
    for lot, product_name in stamps.lots_to_stamp(producer_id):
        label = f"{lot.lot_code} · {product_name} · {lot.produced_on:%d/%m/%Y}"
        choices.append((str(lot.id), label))
    return options(choices)


def _int_or_none(value: Any) -> int | None:
    if value in (None, ""):
        return None
    number = parse_id(value)
    return -1 if number is None else number  # -1 exists nowhere: the service names the field


# ------------------------------------------------------------------------------- runs


@bp.get("/manage/<int:producer_id>/stamps")
@login_required
def runs(producer_id: int):
    acting = _acting(producer_id)
    items = stamps.runs_of(producer_id)
    counts = stamps.state_counts([r.id for r in items])
    totals = {state.value: sum(c[state.value] for c in counts.values()) for state in StampState}
    return _render(
        "traceability/stamps/list.html", acting, runs=items, counts=counts, totals=totals
    )[0]


@bp.route("/manage/<int:producer_id>/stamps/new", methods=["GET", "POST"])
@login_required
def run_new(producer_id: int):
    acting = _acting(producer_id, STAMP_ROLES)
    form = RunForm()
    form.product_id.choices = options(
        [("", _("— Không in tên sản phẩm —"))]
        + [(str(p.id), p.name_vi) for p in products_to_choose(producer_id)]
    )
    form.batch_id.choices = _lot_choices(producer_id, _("— Chưa gắn lô (kích hoạt sau) —"))
    if request.method == "GET":
        form.with_pin.data = True
        if request.args.get("batch_id", type=parse_id):
            form.batch_id.data = str(request.args.get("batch_id", type=parse_id))
        return _render("traceability/stamps/new.html", acting, form=form)[0]
    try:
        with unit_of_work():
            run = stamps.create_run(
                producer_id,
                form.quantity.data,
                product_id=_int_or_none(form.product_id.data),
                batch_id=_int_or_none(form.batch_id.data),
                with_pin=bool(form.with_pin.data),
                created_by_id=acting.user.id,
                actor_role=acting.role,
            )
    except DomainError as error:
        form.show_errors(error)
        return _render("traceability/stamps/new.html", acting, 422, form=form)
    flash(
        ngettext(
            "Đã tạo %(n)s tem, số %(first)s–%(last)s. Hãy tải tệp PDF để in.",
            "Đã tạo %(n)s tem, số %(first)s–%(last)s. Hãy tải tệp PDF để in.",
            run.quantity,
            n=run.quantity,
            first=run.first_serial,
            last=run.last_serial,
        )
    )
    return redirect(url_for(".run_detail", producer_id=producer_id, run_id=run.id), code=303)


def _run_page(
    acting: Acting, run: StampRun, status: int = 200, print_form: PrintForm | None = None
) -> Any:
    counts = stamps.state_counts([run.id])[run.id]
    lot = stamps.run_lot(run)
    if print_form is None:
        print_form = PrintForm(formdata=None)
        print_form.first.data, print_form.last.data = str(run.first_serial), str(run.last_serial)
    activate_form = ActivateForm(formdata=None)
    activate_form.first.data = str(run.first_serial)
    activate_form.last.data = str(run.last_serial)
    # nobody's lot is chosen for them (a run printed for a lot: that one)
    activate_form.batch_id.choices = _lot_choices(acting.producer.id, _("— Chọn lô —"))
    if lot is not None:
        activate_form.batch_id.data = str(lot.id)
    return _render(
        "traceability/stamps/run.html",
        acting,
        status,
        run=run,
        lot=lot,
        counts=counts,
        print_form=print_form,
        activate_form=activate_form,
        void_form=VoidForm(formdata=None),
        sample_url=stamps.sample_url(run),
        max_web_print=MAX_WEB_PRINT,
    )


@bp.get("/manage/<int:producer_id>/stamps/<int:run_id>")
@login_required
def run_detail(producer_id: int, run_id: int):
    acting = _acting(producer_id)
    run = stamps.get_run(producer_id, run_id)
    return _run_page(acting, run)[0]


@bp.post("/manage/<int:producer_id>/stamps/<int:run_id>/sheets.pdf")
@login_required
def run_pdf(producer_id: int, run_id: int):
    acting = _acting(producer_id, STAMP_ROLES)
    run = stamps.get_run(producer_id, run_id)
    form = PrintForm()
    try:
        layout = printing.layout_for(form.layout.data, **form.custom_values())
        first, last = printing.print_range(run, form.first.data, form.last.data)
        if last - first + 1 > MAX_WEB_PRINT:
            raise Invalid(
                _(
                    "Mỗi lần tải tối đa %(n)s tem: chọn một khoảng số nhỏ hơn.",
                    n=f"{MAX_WEB_PRINT:,}".replace(",", "."),
                ),
                fields={"last": _("Khoảng quá lớn")},
            )
    except DomainError as error:
        form.show_errors(error)
        return _run_page(acting, run, 422, print_form=form)
    with unit_of_work():  # the audit entry is committed before a page is sent
        sheets = printing.stream_run(
            run,
            layout,
            first=first,
            last=last,
            actor_id=acting.user.id,
            actor_role=acting.role,
        )
    response = Response(_streamed(sheets), mimetype="application/pdf")
    name = f"tem-{run.id}-{first}-{last}-{layout.key}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"  # PINs inside
    return response


def _streamed(sheets: printing.SheetStream) -> Iterator[bytes]:
    """Pages as they are made (the first bytes leave at once, memory stays flat), in an
    application context of their own: the request's has ended when the body is sent."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def pages() -> Iterator[bytes]:
        with app.app_context():
            yield from sheets

    return pages()


def _single(producer_id: int, serial: int) -> printing.StampLabel:
    stamp, url = stamps.stamp_with_url(producer_id, serial)
    return printing.StampLabel(serial, stamp.code, url)


@bp.get("/manage/<int:producer_id>/stamps/serial/<int:serial>.png")
@login_required
def stamp_png(producer_id: int, serial: int):
    _acting(producer_id)
    scale = request.args.get("scale", 10, type=parse_int) or 10
    png = printing.render_png(_single(producer_id, serial), scale=scale)
    response = Response(png, mimetype="image/png")
    response.headers["Content-Disposition"] = f'inline; filename="tem-{serial}.png"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/manage/<int:producer_id>/stamps/serial/<int:serial>.svg")
@login_required
def stamp_svg(producer_id: int, serial: int):
    _acting(producer_id)
    size = min(max(request.args.get("mm", 20, type=parse_int) or 20, 10), 200)
    svg = printing.render_svg(_single(producer_id, serial), size_mm=size)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Disposition"] = f'inline; filename="tem-{serial}.svg"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/manage/<int:producer_id>/stamps/serial")
@login_required
def stamp_lookup(producer_id: int):
    """The 'one stamp' form: a serial typed by the manager → its PNG or SVG."""
    _acting(producer_id)
    serial = request.args.get("serial", type=parse_id)
    kind = "stamp_svg" if request.args.get("format") == "svg" else "stamp_png"
    if not serial or serial < 1:
        raise Invalid(_("Nhập số sê-ri của tem."))
    stamps.get_stamp(producer_id, serial)
    return redirect(url_for(f".{kind}", producer_id=producer_id, serial=serial), code=303)


# ------------------------------------------------------------------ activation and void


class _Preview(Exception):  # noqa: N818  (not an error: ends a trial activation with a rollback)
    """Raised inside the unit of work to undo a trial activation whose count is asked about."""

    def __init__(self, result: stamps.RangeResult) -> None:
        super().__init__()
        self.result = result


@bp.route("/manage/<int:producer_id>/stamps/activate", methods=["GET", "POST"])
@login_required
def activate(producer_id: int):
    acting = _acting(producer_id, STAMP_ROLES)
    form = ActivateForm()
    form.batch_id.choices = _lot_choices(producer_id, _("— Chọn lô —"))
    if request.method == "GET":
        batch_id = request.args.get("batch_id", type=parse_id)
        if batch_id:
            form.batch_id.data = str(batch_id)
        return _render("traceability/stamps/activate.html", acting, form=form)[0]
    try:
        with unit_of_work():
            result = stamps.activate_range(
                producer_id,
                form.first.data,
                form.last.data,
                form.batch_id.data,
                acting.user.id,
                actor_role=acting.role,
            )
            if request.form.get("confirm") != "1":
                raise _Preview(result)  # the same checks as the real thing, undone
    except _Preview as preview:
        return _render(
            "traceability/stamps/activate_confirm.html",
            acting,
            form=form,
            result=preview.result,
            lot_code=preview.result.lot_code,
        )[0]
    except DomainError as error:
        form.show_errors(error)
        return _render("traceability/stamps/activate.html", acting, 422, form=form)
    flash(
        ngettext(
            "Đã kích hoạt %(n)s tem (số %(first)s–%(last)s) cho lô %(lot)s.",
            "Đã kích hoạt %(n)s tem (số %(first)s–%(last)s) cho lô %(lot)s.",
            result.count,
            n=result.count,
            first=result.first,
            last=result.last,
            lot=result.lot_code,
        )
    )
    return redirect(url_for(".runs", producer_id=producer_id), code=303)


@bp.route("/manage/<int:producer_id>/stamps/void", methods=["GET", "POST"])
@login_required
def void(producer_id: int):
    acting = _acting(producer_id, STAMP_ROLES)
    form = VoidForm()
    if request.method == "GET":
        return _render("traceability/stamps/void.html", acting, form=form)[0]
    last = form.last.data if (form.last.data or "").strip() else form.first.data
    try:
        with unit_of_work():
            result = stamps.void_range(
                producer_id,
                form.first.data,
                last,
                form.reason.data,
                acting.user.id,
                actor_role=acting.role,
            )
    except DomainError as error:
        form.show_errors(error)
        return _render("traceability/stamps/void.html", acting, 422, form=form)
    flash(
        ngettext(
            "Đã hủy %(n)s tem (số %(first)s–%(last)s).",
            "Đã hủy %(n)s tem (số %(first)s–%(last)s).",
            result.count,
            n=result.count,
            first=result.first,
            last=result.last,
        )
    )
    return redirect(url_for(".runs", producer_id=producer_id), code=303)


@bp.get("/manage/<int:producer_id>/stamps/lot/<int:batch_id>")
@login_required
def batch_stamps(producer_id: int, batch_id: int):
    """The stamps activated for one lot, as serial ranges with their scan counts."""
    acting = _acting(producer_id)
    found = stamps.stamps_of_lot(producer_id, batch_id)
    return _render(
        "traceability/stamps/lot.html",
        acting,
        lot=found.lot,
        ranges=found.ranges,
        total=found.total,
        scanned=found.scanned,
    )[0]
