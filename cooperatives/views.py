"""Producer management pages under /manage: profile, members, history, products, photos.

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
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage

from cooperatives import history, memberships, ocop, producers, products
from cooperatives.access import MANAGERS, Acting, producers_of
from cooperatives.access import current_acting as _acting
from cooperatives.forms import (
    AltForm,
    MemberForm,
    PhotoForm,
    ProducerForm,
    ProductForm,
    RoleForm,
    VariantForm,
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


def _render(template: str, acting: Acting | None = None, status: int = 200, **context: Any):
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
    return _render("cooperatives/dashboard.html", mine=mine, invitations=invitations)


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
        return _render("cooperatives/producer_form.html", form=form, creating=True)
    try:
        with unit_of_work():
            producer = producers.create_producer(
                current_user._get_current_object(), _producer_data(form), _upload(form.logo)
            )
    except Invalid as error:
        form.show_errors(error)
        return _render("cooperatives/producer_form.html", form=form, creating=True, status=422)
    flash(_("Đã tạo hồ sơ %(name)s. Bạn là người quản lý.", name=producer.name))
    return redirect(url_for(".producer", producer_id=producer.id))


@bp.get("/<int:producer_id>")
@login_required
def producer(producer_id: int):
    acting = _acting(producer_id)
    items = products.list_products(producer_id)
    counts = {s: sum(1 for p in items if p.status == s) for s in ProductStatus}
    expiring_count = len(ocop.expiring(producer_id=producer_id))
    return _render(
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
        return _render("cooperatives/producer_form.html", acting, form=form)
    form = ProducerForm()
    if form.pick_province.data:
        return _render("cooperatives/producer_form.html", acting, form=form)
    try:
        with unit_of_work():
            producers.update_producer(acting, _producer_data(form), _upload(form.logo))
    except Invalid as error:
        form.show_errors(error)
        return _render("cooperatives/producer_form.html", acting, form=form, status=422)
    flash(_("Đã lưu hồ sơ."))
    return redirect(url_for(".producer", producer_id=producer_id))


# ---- members ----------------------------------------------------------------------------------


def _members_page(acting: Acting, form: MemberForm, status: int = 200):
    return _render(
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
    return _render("cooperatives/history.html", acting, page=page, lines=lines)


# ---- products ---------------------------------------------------------------------------------


def _product_data(form: ProductForm) -> products.ProductData:
    return products.ProductData(
        name_vi=form.name_vi.data or "",
        name_en=form.name_en.data or "",
        description_vi=form.description_vi.data or "",
        description_en=form.description_en.data or "",
        category_code=form.category_code.data or "",
        gtin=form.gtin.data or "",
    )


@bp.get("/<int:producer_id>/products")
@login_required
def product_list(producer_id: int):
    acting = _acting(producer_id)
    return _render("cooperatives/products.html", acting, items=products.list_products(producer_id))


@bp.route("/<int:producer_id>/products/new", methods=["GET", "POST"])
@login_required
def create_product(producer_id: int):
    acting = _acting(producer_id)
    if request.method == "GET":
        return _render("cooperatives/product_form.html", acting, form=ProductForm(formdata=None))
    form = ProductForm()
    try:
        with unit_of_work():
            product = products.create_product(acting, _product_data(form))
            product_id = product.id
    except Invalid as error:
        form.show_errors(error)
        return _render("cooperatives/product_form.html", acting, form=form, status=422)
    flash(_("Đã tạo sản phẩm (bản nháp). Thêm quy cách và giá để đăng bán."))
    return redirect(url_for(".create_variant", producer_id=producer_id, product_id=product_id))


def _product_page(acting: Acting, product: Any, form: ProductForm, status: int = 200):
    return _render(
        "cooperatives/product_edit.html", acting, status=status, product=product, form=form
    )


@bp.route("/<int:producer_id>/products/<int:product_id>", methods=["GET", "POST"])
@login_required
def edit_product(producer_id: int, product_id: int):
    acting = _acting(producer_id)
    product = products.find_product(acting, product_id, full=True)
    if request.method == "GET":
        return _product_page(acting, product, ProductForm(obj=product))
    form = ProductForm()
    try:
        with unit_of_work():
            products.update_product(acting, product, _product_data(form))
    except Invalid as error:
        form.show_errors(error)
        product = products.find_product(acting, product_id, full=True)
        return _product_page(acting, product, form, status=422)
    flash(_("Đã lưu sản phẩm."))
    return redirect(url_for(".edit_product", producer_id=producer_id, product_id=product_id))


@bp.post("/<int:producer_id>/products/<int:product_id>/status")
@login_required
def product_status(producer_id: int, product_id: int):
    acting = _acting(producer_id)
    product = products.find_product(acting, product_id, full=True)
    status = request.form.get("status", "")
    try:
        with unit_of_work():
            products.set_status(acting, product, status)
    except Invalid as error:
        flash(str(error.message), "error")
        return redirect(url_for(".edit_product", producer_id=producer_id, product_id=product_id))
    messages = {
        ProductStatus.PUBLISHED: _("Sản phẩm đã được đăng bán."),
        ProductStatus.DRAFT: _("Sản phẩm đã chuyển về nháp, khách không còn thấy."),
        ProductStatus.ARCHIVED: _("Sản phẩm đã được lưu trữ, khách không còn thấy."),
    }
    flash(messages[ProductStatus(status)])
    return redirect(url_for(".edit_product", producer_id=producer_id, product_id=product_id))


# ---- variants ---------------------------------------------------------------------------------


def _variant_data(form: VariantForm) -> products.VariantData:
    return products.VariantData(
        label=form.label.data or "",
        pack_size=form.pack_size.data or "",
        unit=form.unit.data or "",
        price=form.price.data or "",
        weight_grams=form.weight_grams.data or "",
        sku=form.sku.data or "",
        active=bool(form.active.data),
    )


@bp.route("/<int:producer_id>/products/<int:product_id>/variants/new", methods=["GET", "POST"])
@login_required
def create_variant(producer_id: int, product_id: int):
    acting = _acting(producer_id)
    product = products.find_product(acting, product_id, full=True)
    template = "cooperatives/variant_form.html"
    if request.method == "GET":
        return _render(template, acting, product=product, form=VariantForm(formdata=None))
    form = VariantForm()
    try:
        with unit_of_work():
            products.add_variant(acting, product, _variant_data(form))
    except Invalid as error:
        form.show_errors(error)
        product = products.find_product(acting, product_id)
        return _render(template, acting, product=product, form=form, status=422)
    flash(_("Đã thêm quy cách."))
    return redirect(url_for(".edit_product", producer_id=producer_id, product_id=product_id))


@bp.route(
    "/<int:producer_id>/products/<int:product_id>/variants/<int:variant_id>",
    methods=["GET", "POST"],
)
@login_required
def edit_variant(producer_id: int, product_id: int, variant_id: int):
    acting = _acting(producer_id)
    product = products.find_product(acting, product_id, full=True)
    variant = products.find_variant(product, variant_id)
    template = "cooperatives/variant_form.html"
    if request.method == "GET":
        form = VariantForm(formdata=None, obj=variant)
        form.pack_size.data = _plain_decimal(variant.pack_size)
        form.price.data = f"{variant.price_vnd:,}".replace(",", ".")
        form.weight_grams.data = str(variant.weight_grams or "")
        return _render(template, acting, product=product, variant=variant, form=form)
    form = VariantForm()
    try:
        with unit_of_work():
            products.update_variant(acting, product, variant, _variant_data(form))
    except Invalid as error:
        form.show_errors(error)
        product = products.find_product(acting, product_id)
        variant = products.find_variant(product, variant_id)
        return _render(template, acting, product=product, variant=variant, form=form, status=422)
    flash(_("Đã lưu quy cách."))
    return redirect(url_for(".edit_product", producer_id=producer_id, product_id=product_id))


def _plain_decimal(value: Any) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# ---- photos -----------------------------------------------------------------------------------


def _photos_page(acting: Acting, product: Any, form: PhotoForm, status: int = 200):
    return _render(
        "cooperatives/photos.html",
        acting,
        status=status,
        product=product,
        form=form,
        max_images=products.MAX_IMAGES,
    )


@bp.route("/<int:producer_id>/products/<int:product_id>/photos", methods=["GET", "POST"])
@login_required
def photos(producer_id: int, product_id: int):
    acting = _acting(producer_id)
    product = products.find_product(acting, product_id, full=True)
    if request.method == "GET":
        return _photos_page(acting, product, PhotoForm(formdata=None))
    form = PhotoForm()
    uploads = [f for f in (form.photos.data or []) if isinstance(f, FileStorage) and f.filename]
    try:
        with unit_of_work():  # rows that do not land take their files with them
            added = products.add_images(
                acting, product, [f.stream for f in uploads], form.alt.data or ""
            )
    except Invalid as error:
        form.show_errors(error)
        product = products.find_product(acting, product_id, full=True)
        return _photos_page(acting, product, form, status=422)
    flash(ngettext("Đã thêm %(n)s ảnh.", "Đã thêm %(n)s ảnh.", len(added), n=len(added)))
    return redirect(url_for(".photos", producer_id=producer_id, product_id=product_id))


@bp.post("/<int:producer_id>/products/<int:product_id>/photos/<int:image_id>")
@login_required
def update_photo(producer_id: int, product_id: int, image_id: int):
    acting = _acting(producer_id)
    product = products.find_product(acting, product_id)
    image = products.find_image(product, image_id)
    action = request.form.get("action", "alt")
    try:
        with unit_of_work():
            if action in ("up", "down", "first"):
                products.move_image(acting, product, image, action)
            elif action == "alt":
                products.update_image_alt(acting, product, image, AltForm().alt.data or "")
            else:
                raise Invalid()
    except Invalid as error:
        message = next(iter(error.fields.values())) if error.fields else error.message
        flash(str(message), "error")
        return redirect(url_for(".photos", producer_id=producer_id, product_id=product_id))
    flash(_("Đã lưu."))
    return redirect(url_for(".photos", producer_id=producer_id, product_id=product_id))


@bp.post("/<int:producer_id>/products/<int:product_id>/photos/<int:image_id>/delete")
@login_required
def delete_photo(producer_id: int, product_id: int, image_id: int):
    acting = _acting(producer_id)
    product = products.find_product(acting, product_id)
    image = products.find_image(product, image_id)
    with unit_of_work():  # the files go once the row's deletion is committed
        products.remove_image(acting, product, image)
    flash(_("Đã xoá ảnh."))
    return redirect(url_for(".photos", producer_id=producer_id, product_id=product_id))
