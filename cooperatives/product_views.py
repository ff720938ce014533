"""Product pages under /manage/<producer>/products: products, their variants and photos.

Routes of the `cooperatives` blueprint (views.py); each view: parse → authorise → call a
service → one unit of work → redirect, or re-render with what was typed (422).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required
from werkzeug.datastructures import FileStorage

from cooperatives import product_photos, products, variants
from cooperatives.access import Acting
from cooperatives.access import current_acting as _acting
from cooperatives.forms import AltForm, PhotoForm, ProductForm, VariantForm
from cooperatives.models import ProductStatus
from cooperatives.views import bp, render_page
from core.db import unit_of_work
from core.errors import Invalid

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
    return render_page(
        "cooperatives/products.html", acting, items=products.list_products(producer_id)
    )


@bp.route("/<int:producer_id>/products/new", methods=["GET", "POST"])
@login_required
def create_product(producer_id: int):
    acting = _acting(producer_id)
    if request.method == "GET":
        return render_page(
            "cooperatives/product_form.html", acting, form=ProductForm(formdata=None)
        )
    form = ProductForm()
    try:
        with unit_of_work():
            product = products.create_product(acting, _product_data(form))
            product_id = product.id
    except Invalid as error:
        form.show_errors(error)
        return render_page("cooperatives/product_form.html", acting, form=form, status=422)
    flash(_("Đã tạo sản phẩm (bản nháp). Thêm quy cách và giá để đăng bán."))
    return redirect(url_for(".create_variant", producer_id=producer_id, product_id=product_id))


def _product_page(acting: Acting, product: Any, form: ProductForm, status: int = 200):
    return render_page(
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


def _variant_data(form: VariantForm) -> variants.VariantData:
    return variants.VariantData(
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
        return render_page(template, acting, product=product, form=VariantForm(formdata=None))
    form = VariantForm()
    try:
        with unit_of_work():
            variants.add_variant(acting, product, _variant_data(form))
    except Invalid as error:
        form.show_errors(error)
        product = products.find_product(acting, product_id)
        return render_page(template, acting, product=product, form=form, status=422)
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
    variant = variants.find_variant(product, variant_id)
    template = "cooperatives/variant_form.html"
    if request.method == "GET":
        form = VariantForm(formdata=None, obj=variant)
        form.pack_size.data = _plain_decimal(variant.pack_size)
        form.price.data = f"{variant.price_vnd:,}".replace(",", ".")
        form.weight_grams.data = str(variant.weight_grams or "")
        return render_page(template, acting, product=product, variant=variant, form=form)
    form = VariantForm()
    try:
        with unit_of_work():
            variants.update_variant(acting, product, variant, _variant_data(form))
    except Invalid as error:
        form.show_errors(error)
        product = products.find_product(acting, product_id)
        variant = variants.find_variant(product, variant_id)
        return render_page(
            template, acting, product=product, variant=variant, form=form, status=422
        )
    flash(_("Đã lưu quy cách."))
    return redirect(url_for(".edit_product", producer_id=producer_id, product_id=product_id))


def _plain_decimal(value: Any) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# ---- photos -----------------------------------------------------------------------------------


def _photos_page(acting: Acting, product: Any, form: PhotoForm, status: int = 200):
    return render_page(
        "cooperatives/photos.html",
        acting,
        status=status,
        product=product,
        form=form,
        max_images=product_photos.MAX_IMAGES,
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
            added = product_photos.add_images(
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
    image = product_photos.find_image(product, image_id)
    action = request.form.get("action", "alt")
    try:
        with unit_of_work():
            if action in ("up", "down", "first"):
                product_photos.move_image(acting, product, image, action)
            elif action == "alt":
                product_photos.update_image_alt(acting, product, image, AltForm().alt.data or "")
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
    image = product_photos.find_image(product, image_id)
    with unit_of_work():  # the files go once the row's deletion is committed
        product_photos.remove_image(acting, product, image)
    flash(_("Đã xoá ảnh."))
    return redirect(url_for(".photos", producer_id=producer_id, product_id=product_id))
