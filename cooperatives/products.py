"""Products: their names, descriptions, category, GTIN and status.

A GTIN is accepted only with a correct check digit and never invented; a product is published
only with at least one variant on sale. Variants are in `variants.py`, photos in
`product_photos.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cooperatives import signals
from cooperatives.access import Acting
from cooperatives.models import OcopCategory, Product, ProductStatus
from cooperatives.producers import (
    audit,
    clean_long,
    clean_text,
    prefix_holder,
    product_search_text,
    unique_slug,
)
from core.db import db, utcnow
from core.errors import Invalid, NotFound
from core.gs1 import normalize_gtin

NAME_MAX, DESCRIPTION_MAX = 200, 5000


@dataclass
class ProductData:
    name_vi: str = ""
    name_en: str = ""
    description_vi: str = ""
    description_en: str = ""
    category_code: str = ""
    gtin: str = ""


def find_product(acting: Acting, product_id: int, *, full: bool = False) -> Product:
    """A product of the acting producer, or 404 (another producer's id reveals nothing)."""
    query = select(Product).where(
        Product.id == product_id, Product.producer_id == acting.producer.id
    )
    if full:
        query = query.options(selectinload(Product.variants), selectinload(Product.images))
    product = db.session.scalar(query)
    if product is None:
        raise NotFound()
    return product


def list_products(producer_id: int) -> list[Product]:
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.producer_id == producer_id)
            .options(selectinload(Product.variants), selectinload(Product.images))
            .order_by(Product.status != ProductStatus.PUBLISHED, Product.name_vi, Product.id)
        )
    )


def products_to_choose(producer_id: int) -> list[Product]:
    """A producer's products that a new lot, stamp run or OCOP dossier may name (not archived)."""
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.producer_id == producer_id, Product.status != ProductStatus.ARCHIVED)
            .order_by(Product.name_vi, Product.id)
        )
    )


def product_names(producer_id: int) -> dict[int, str]:
    """Every product of a producer (archived ones too: their lots still show), id → name."""
    query = select(Product.id, Product.name_vi).where(Product.producer_id == producer_id)
    return {row.id: row.name_vi for row in db.session.execute(query)}


# ---- products ---------------------------------------------------------------------------------


def check_product(data: ProductData, producer_gs1_prefix: str | None) -> ProductData:
    errors: dict[str, Any] = {}
    out = ProductData(
        name_vi=clean_text(data.name_vi),
        name_en=clean_text(data.name_en),
        description_vi=clean_long(data.description_vi),
        description_en=clean_long(data.description_en),
        category_code=clean_text(data.category_code),
    )
    if not out.name_vi:
        errors["name_vi"] = _l("Vui lòng nhập tên sản phẩm.")
    elif len(out.name_vi) > NAME_MAX:
        errors["name_vi"] = _l("Tên dài quá %(n)s ký tự.", n=NAME_MAX)
    if len(out.name_en) > NAME_MAX:
        errors["name_en"] = _l("Tên dài quá %(n)s ký tự.", n=NAME_MAX)
    for name in ("description_vi", "description_en"):
        if len(getattr(out, name)) > DESCRIPTION_MAX:
            errors[name] = _l("Mô tả dài quá %(n)s ký tự.", n=DESCRIPTION_MAX)
    if out.category_code and (
        len(out.category_code) > 16 or db.session.get(OcopCategory, out.category_code) is None
    ):
        errors["category_code"] = _l("Vui lòng chọn nhóm sản phẩm trong danh sách.")
    try:
        out.gtin = normalize_gtin(clean_text(data.gtin)) or ""
    except ValueError:
        errors["gtin"] = _l(
            "Mã GTIN chưa đúng: cần 8, 12, 13 hoặc 14 chữ số với số kiểm tra đúng. "
            "Nếu chưa có mã vạch GS1, hãy để trống."
        )
    else:
        if out.gtin and producer_gs1_prefix and not out.gtin[1:].startswith(producer_gs1_prefix):
            errors["gtin"] = _l(
                "Mã GTIN không bắt đầu bằng mã doanh nghiệp GS1 %(prefix)s của cơ sở.",
                prefix=producer_gs1_prefix,
            )
    if errors:
        raise Invalid(fields=errors)
    return out


def _gtin_taken(gtin: str, product_id: int | None) -> bool:
    query = select(Product.id).where(Product.gtin == gtin)
    if product_id is not None:
        query = query.where(Product.id != product_id)
    return db.session.scalar(query) is not None


def _gtin_conflict() -> Invalid:
    return Invalid(fields={"gtin": _l("Mã GTIN này đã dùng cho một sản phẩm khác.")})


def _check_gtin_owner(gtin: str, producer_id: int) -> None:
    """A GTIN under a GS1 company prefix that another producer holds is not ours to use."""
    if gtin and prefix_holder(gtin, exclude_producer_id=producer_id) is not None:
        message = _l(
            "Mã GTIN này thuộc mã doanh nghiệp GS1 của một cơ sở khác. "
            "Chỉ dùng mã GTIN do GS1 cấp cho chính cơ sở của bạn."
        )
        raise Invalid(message, fields={"gtin": message})


def create_product(acting: Acting, data: ProductData) -> Product:
    data = check_product(data, acting.producer.gs1_prefix)
    _check_gtin_owner(data.gtin, acting.producer.id)
    if data.gtin and _gtin_taken(data.gtin, None):
        raise _gtin_conflict()
    product = Product(
        producer_id=acting.producer.id,
        slug=unique_slug(Product, data.name_vi, max_length=100),
        name_vi=data.name_vi,
        name_en=data.name_en,
        description_vi=data.description_vi,
        description_en=data.description_en,
        category_code=data.category_code or None,
        gtin=data.gtin or None,
        status=ProductStatus.DRAFT,
        created_by_id=acting.user.id,
        updated_by_id=acting.user.id,
    )
    product.search_text = product_search_text(product, acting.producer)
    db.session.add(product)
    db.session.flush()
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "product.create",
        "product",
        product.id,
        {"name": product.name_vi},
    )
    return product


def update_product(acting: Acting, product: Product, data: ProductData) -> Product:
    data = check_product(data, acting.producer.gs1_prefix)
    _check_gtin_owner(data.gtin, acting.producer.id)
    if data.gtin and _gtin_taken(data.gtin, product.id):
        raise _gtin_conflict()
    new = {
        "name_vi": data.name_vi,
        "name_en": data.name_en,
        "description_vi": data.description_vi,
        "description_en": data.description_en,
        "category_code": data.category_code or None,
        "gtin": data.gtin or None,
    }
    changed = sorted(k for k, v in new.items() if getattr(product, k) != v)
    if not changed:
        return product
    old_gtin = product.gtin
    for key, value in new.items():
        setattr(product, key, value)
    product.search_text = product_search_text(product, acting.producer)
    product.updated_by_id = acting.user.id
    details: dict[str, Any] = {"name": product.name_vi, "fields": changed}
    if "gtin" in changed:
        details["gtin"] = [old_gtin, product.gtin]
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "product.update",
        "product",
        product.id,
        details,
    )
    db.session.flush()
    return product


def set_status(acting: Acting, product: Product, status: str) -> Product:
    if status not in set(ProductStatus):
        raise Invalid(_l("Trạng thái không hợp lệ."))
    if status == product.status:
        return product
    if status == ProductStatus.PUBLISHED and not any(v.active for v in product.variants):
        raise Invalid(
            _l("Cần ít nhất một quy cách đang bán (có giá) trước khi đăng bán."), code="no_variant"
        )
    previous = product.status
    product.status = status
    product.updated_by_id = acting.user.id
    if status == ProductStatus.PUBLISHED and product.published_at is None:
        product.published_at = utcnow()
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "product.status",
        "product",
        product.id,
        {"name": product.name_vi, "status": status},
    )
    db.session.flush()
    news = {
        "product_id": product.id,
        "producer_id": product.producer_id,
        "status": status,
        "by_id": acting.user.id,
    }
    if previous == ProductStatus.PUBLISHED:
        signals.product_unpublished.send(signals.SENDER, **news)
    if status == ProductStatus.ARCHIVED:
        signals.product_archived.send(signals.SENDER, **news)
    return product
