"""Producer management pages under /manage: dashboard, profile, members, history (products,
variants and photos are in product_views.py, on the same blueprint).

Each view: parse → authorise (require_member: other producers' ids are 404) → call a service →
one unit of work → redirect; on bad input re-render the form with what was typed, status 422.
"""

from __future__ import annotations

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
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage

from cooperatives import history, memberships, ocop, producers, products
from cooperatives.access import MANAGERS, Acting, producers_of
from cooperatives.access import current_acting as _acting
from cooperatives.forms import (
    MemberForm,
    ProducerForm,
    RoleForm,
)
from cooperatives.labels import KIND_LABELS, ROLE_LABELS, STATUS_LABELS, UNITS
from cooperatives.models import MemberRole, ProductStatus
from core.db import unit_of_work
from core.errors import Invalid
from core.numbers import parse_id, parse_int
from core.phones import display_phone

bp = Blueprint("cooperatives", __name__, url_prefix="/manage")


def _page() -> int:
    page = request.args.get("page", 1, type=parse_int) or 1
    return min(max(page, 1), 10_000)


def render_page(template: str, acting: Acting | None = None, status: int = 200, **context: Any):
    if acting is not None:
        context.setdefault("switch_to", producers_of(acting.user.id))
    return (
        render_template(
            template,
            acting=acting,
            producer=acting.producer if acting else None,
            kind_labels=KIND_LABELS,
            role_labels=ROLE_LABELS,
            status_labels=STATUS_LABELS,
            unit_labels=UNITS,
            **context,
        ),
        status,
    )


def _upload(field: Any) -> FileStorage | None:
    data = field.data
    if isinstance(data, FileStorage) and data.filename:
        return data
    return None


@bp.app_context_processor
def _producer_nav() -> dict[str, Any]:
    return {"MemberRole": MemberRole, "ProductStatus": ProductStatus}


# ---- dashboard and profile ------------------------------------------------------------------


@bp.get("")
@login_required
def dashboard():
    mine = producers_of(current_user.id)
    invitations = memberships.invitations_for(current_user._get_current_object())
    return render_page("cooperatives/dashboard.html", mine=mine, invitations=invitations)


@bp.post("/invitations/<int:invitation_id>/accept")
@login_required
def accept_invitation(invitation_id: int):
    with unit_of_work():
        membership = memberships.accept_invitation(
            current_user._get_current_object(), invitation_id
        )
        producer_id, name = membership.producer_id, membership.producer.name
    flash(_("Bạn đã tham gia %(name)s.", name=name))
    return redirect(url_for(".producer", producer_id=producer_id))


@bp.post("/invitations/<int:invitation_id>/decline")
@login_required
def decline_invitation(invitation_id: int):
    with unit_of_work():
        memberships.decline_invitation(current_user._get_current_object(), invitation_id)
    flash(_("Đã từ chối lời mời."))
    return redirect(url_for(".dashboard"))


@bp.get("/start")
@login_required
def start():
    """Each role lands on its own work: a council member on the evaluations waiting, a
    manager of one producer on that producer, a helper (or a member of several) on the list
    of households; nobody on "you manage no producer" while they have work elsewhere."""
    mine = producers_of(current_user.id)
    council = bool(current_user.council_seats) and "ocop.council_home" in current_app.view_functions
    if council and not mine:
        return redirect(url_for("ocop.council_home"))
    if len(mine) == 1 and mine[0][1] != MemberRole.HELPER:
        return redirect(url_for(".producer", producer_id=mine[0][0].id))
    return redirect(url_for(".dashboard"))


@bp.get("/go")
@login_required
def switch():
    """The producer switcher without JavaScript: a select and a button."""
    producer_id = request.args.get("producer_id", type=parse_id)
    if producer_id is None:
        return redirect(url_for(".dashboard"))
    _acting(producer_id)
    return redirect(url_for(".producer", producer_id=producer_id))


def _producer_data(form: ProducerForm) -> producers.ProducerData:
    return producers.ProducerData(
        name=form.name.data or "",
        kind=form.kind.data or "",
        tax_code=form.tax_code.data or "",
        province_code=form.province_code.data,
        ward_code=form.ward_code.data,
        street=form.street.data or "",
        phone=form.phone.data or "",
        email=form.email.data or "",
        story=form.story.data or "",
        bank_bin=form.bank_bin.data or "",
        bank_account=form.bank_account.data or "",
        bank_account_name=form.bank_account_name.data or "",
        gs1_prefix=form.gs1_prefix.data or "",
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create_producer():
    form = ProducerForm()
    if request.method == "GET" or form.pick_province.data:
        return render_page("cooperatives/producer_form.html", form=form, creating=True)
    try:
        with unit_of_work():
            producer = producers.create_producer(
                current_user._get_current_object(), _producer_data(form), _upload(form.logo)
            )
    except Invalid as error:
        form.show_errors(error)
        return render_page("cooperatives/producer_form.html", form=form, creating=True, status=422)
    flash(_("Đã tạo hồ sơ %(name)s. Bạn là người quản lý.", name=producer.name))
    return redirect(url_for(".producer", producer_id=producer.id))


@bp.get("/<int:producer_id>")
@login_required
def producer(producer_id: int):
    acting = _acting(producer_id)
    items = products.list_products(producer_id)
    counts = {s: sum(1 for p in items if p.status == s) for s in ProductStatus}
    expiring_count = len(ocop.expiring(producer_id=producer_id))
    return render_page(
        "cooperatives/producer.html",
        acting,
        counts=counts,
        recent=items[:5],
        expiring_count=expiring_count,
    )


@bp.route("/<int:producer_id>/profile", methods=["GET", "POST"])
@login_required
def edit_profile(producer_id: int):
    acting = _acting(producer_id)
    producer = acting.producer
    if request.method == "GET":
        form = ProducerForm(obj=producer)
        form.phone.data = display_phone(producer.phone)
        return render_page("cooperatives/producer_form.html", acting, form=form)
    form = ProducerForm()
    if form.pick_province.data:
        return render_page("cooperatives/producer_form.html", acting, form=form)
    try:
        with unit_of_work():
            producers.update_producer(acting, _producer_data(form), _upload(form.logo))
    except Invalid as error:
        form.show_errors(error)
        return render_page("cooperatives/producer_form.html", acting, form=form, status=422)
    flash(_("Đã lưu hồ sơ."))
    return redirect(url_for(".producer", producer_id=producer_id))


# ---- members ----------------------------------------------------------------------------------


def _members_page(acting: Acting, form: MemberForm, status: int = 200):
    return render_page(
        "cooperatives/members.html",
        acting,
        status=status,
        form=form,
        members=memberships.active_members(acting.producer.id),
        invitations=memberships.pending_invitations_of(acting.producer.id),
        role_form=RoleForm(formdata=None),
        may_remove=memberships.may_remove,
    )


@bp.route("/<int:producer_id>/members", methods=["GET", "POST"])
@login_required
def members(producer_id: int):
    acting = _acting(producer_id)
    if request.method == "GET":
        return _members_page(acting, MemberForm(formdata=None))
    form = MemberForm()
    try:
        with unit_of_work():
            invitation = memberships.invite_member(
                acting, form.phone.data or "", form.role.data or "", form.name.data or ""
            )
            phone = display_phone(invitation.phone)
    except Invalid as error:
        form.show_errors(error)
        return _members_page(acting, form, status=422)
    flash(
        _(
            "Đã gửi lời mời đến %(phone)s. Người đó đăng nhập bằng số này rồi bấm “Nhận lời”.",
            phone=phone,
        )
    )
    return redirect(url_for(".members", producer_id=producer_id))


@bp.post("/<int:producer_id>/invitations/<int:invitation_id>/cancel")
@login_required
def cancel_invitation(producer_id: int, invitation_id: int):
    acting = _acting(producer_id, MANAGERS)
    with unit_of_work():
        memberships.cancel_invitation(acting, invitation_id)
    flash(_("Đã huỷ lời mời."))
    return redirect(url_for(".members", producer_id=producer_id))


@bp.post("/<int:producer_id>/members/<int:membership_id>/role")
@login_required
def change_role(producer_id: int, membership_id: int):
    acting = _acting(producer_id, MANAGERS)
    form = RoleForm()
    try:
        with unit_of_work():
            memberships.change_role(acting, membership_id, form.role.data or "")
    except Invalid as error:
        flash(
            str(error.message if not error.fields else next(iter(error.fields.values()))), "error"
        )
        return redirect(url_for(".members", producer_id=producer_id))
    flash(_("Đã đổi vai trò."))
    return redirect(url_for(".members", producer_id=producer_id))


@bp.post("/<int:producer_id>/members/<int:membership_id>/remove")
@login_required
def remove_member(producer_id: int, membership_id: int):
    acting = _acting(producer_id)
    try:
        with unit_of_work():
            membership = memberships.end_membership(acting, membership_id)
            left = membership.user_id == acting.user.id
    except Invalid as error:
        flash(str(error.message), "error")
        return redirect(url_for(".members", producer_id=producer_id))
    if left:
        flash(_("Bạn đã rời khỏi %(name)s.", name=acting.producer.name))
        return redirect(url_for(".dashboard"))
    flash(_("Đã gỡ. Người này không còn xem hay sửa được dữ liệu của cơ sở."))
    return redirect(url_for(".members", producer_id=producer_id))


@bp.get("/<int:producer_id>/history")
@login_required
def producer_history(producer_id: int):
    acting = _acting(producer_id)
    page = history.producer_history(producer_id, _page())
    lines = [(entry, history.describe(entry, acting.producer.name)) for entry in page.items]
    return render_page("cooperatives/history.html", acting, page=page, lines=lines)
