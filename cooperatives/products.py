"""Products, their variants (pack sizes with prices) and photos.

A GTIN is accepted only with a correct check digit and never invented; SKUs are generated when
left blank; a product is published only with at least one variant on sale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from cooperatives import signals
from cooperatives.access import Acting
from cooperatives.labels import UNITS
from cooperatives.models import OcopCategory, Product, ProductImage, ProductStatus, Variant
from cooperatives.producers import (
    audit,
    clean_long,
    clean_text,
    prefix_holder,
    product_search_text,
    unique_slug,
)
from core.db import after_commit, after_rollback, db, utcnow
from core.errors import Invalid, NotFound
from core.gs1 import normalize_gtin
from core.images import StoredImage, check_request_pixels, delete_image, store_image
from core.money import parse_vnd
from core.numbers import parse_int
from core.text import slugify

NAME_MAX, DESCRIPTION_MAX, LABEL_MAX, ALT_MAX, SKU_MAX = 200, 5000, 120, 200, 64
PRICE_MAX = 1_000_000_000  # one billion đồng per pack is beyond any farm product
PACK_MAX = Decimal("1000000")
WEIGHT_MAX = 1_000_000  # grams: one tonne
MAX_IMAGES = 10
SKU_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]*$")


@dataclass
class ProductData:
    name_vi: str = ""
    name_en: str = ""
    description_vi: str = ""
    description_en: str = ""
    category_code: str = ""
    gtin: str = ""


@dataclass
class VariantData:
    """As typed: price '150.000 đ', pack size '2,5'. Checked by `check_variant`."""

    label: str = ""
    pack_size: str = ""
    unit: str = "kg"
    price: str = ""
    weight_grams: str = ""
    sku: str = ""
    active: bool = True


@dataclass(frozen=True)
class CheckedVariant:
    label: str
    pack_size: Decimal
    unit: str
    price_vnd: int
    weight_grams: int | None
    sku: str
    active: bool


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


# ---- variants ---------------------------------------------------------------------------------


def parse_decimal(text: str) -> Decimal | None:
    """'2,5' or '2.5' -> Decimal('2.5'); None when not a plain number."""
    text = clean_text(text).replace(" ", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    if not re.fullmatch(r"[0-9]{1,9}(\.[0-9]{1,3})?", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        return None


_CURRENCY = re.compile(r"\s*(₫|đ|vnđ|vnd|đồng|dong)\s*$", re.IGNORECASE)


def parse_price(text: str) -> int | None:
    """'150.000', '150000 đ', '150,000₫' -> 150000. Thousands groups must be whole: '150.000,50'
    (a decimal part) or '1.5' is refused rather than read as another amount."""
    text = clean_text(text)
    if not text:
        return None
    groups = re.split(r"[.,\s]", _CURRENCY.sub("", text))
    if len(groups) > 1 and not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
        return None
    return parse_vnd(text)


def check_variant(data: VariantData) -> CheckedVariant:
    errors: dict[str, Any] = {}
    label = clean_text(data.label)
    if not label:
        errors["label"] = _l("Vui lòng nhập tên quy cách, ví dụ “thùng 5 kg”.")
    elif len(label) > LABEL_MAX:
        errors["label"] = _l("Tên quy cách dài quá %(n)s ký tự.", n=LABEL_MAX)

    pack_size = parse_decimal(data.pack_size)
    if pack_size is None or pack_size <= 0 or pack_size > PACK_MAX:
        errors["pack_size"] = _l("Nhập số lượng mỗi gói lớn hơn 0, ví dụ 5 hoặc 2,5.")

    if data.unit not in UNITS:
        errors["unit"] = _l("Vui lòng chọn đơn vị.")

    price = parse_price(data.price)
    if price is None:
        errors["price"] = _l("Nhập giá bằng số đồng, ví dụ 150.000.")
    elif price > PRICE_MAX:
        errors["price"] = _l("Giá quá lớn.")

    weight: int | None = None
    raw_weight = clean_text(data.weight_grams).replace(".", "").replace(" ", "")
    if raw_weight:
        weight = parse_int(raw_weight, minimum=1, maximum=WEIGHT_MAX)
        if weight is None:
            errors["weight_grams"] = _l("Nhập khối lượng bằng gam, từ 1 đến 1.000.000.")

    sku = clean_text(data.sku).upper().replace(" ", "-")
    if sku and (len(sku) > SKU_MAX or not SKU_PATTERN.match(sku)):
        errors["sku"] = _l(
            "Mã SKU chỉ gồm chữ không dấu, chữ số, dấu chấm, gạch ngang (tối đa %(n)s ký tự).",
            n=SKU_MAX,
        )
    if errors:
        raise Invalid(fields=errors)
    assert pack_size is not None and price is not None
    return CheckedVariant(
        label=label,
        pack_size=pack_size,
        unit=data.unit,
        price_vnd=price,
        weight_grams=weight,
        sku=sku,
        active=bool(data.active),
    )


def find_variant(product: Product, variant_id: int) -> Variant:
    variant = db.session.scalar(
        select(Variant).where(Variant.id == variant_id, Variant.product_id == product.id)
    )
    if variant is None:
        raise NotFound()
    return variant


def _sku_taken(producer_id: int, sku: str, variant_id: int | None) -> bool:
    query = select(Variant.id).where(Variant.producer_id == producer_id, Variant.sku == sku)
    if variant_id is not None:
        query = query.where(Variant.id != variant_id)
    return db.session.scalar(query) is not None


def _generate_sku(product: Product, label: str) -> str:
    """'Cam Cao Phong loại 1', 'thùng 5 kg' -> 'P12-THUNG-5-KG' (unique per producer)."""
    base = f"P{product.id}-{slugify(label, max_length=40).upper()}"[: SKU_MAX - 4]
    sku, n = base, 2
    while _sku_taken(product.producer_id, sku, None):
        sku, n = f"{base}-{n}", n + 1
    return sku


def add_variant(acting: Acting, product: Product, data: VariantData) -> Variant:
    checked = check_variant(data)
    if checked.sku and _sku_taken(acting.producer.id, checked.sku, None):
        raise Invalid(fields={"sku": _l("Mã SKU này đã dùng cho một quy cách khác của cơ sở.")})
    position = db.session.scalar(
        select(func.coalesce(func.max(Variant.position) + 1, 0)).where(
            Variant.product_id == product.id
        )
    )
    variant = Variant(
        product_id=product.id,
        producer_id=acting.producer.id,
        label=checked.label,
        pack_size=checked.pack_size,
        unit=checked.unit,
        price_vnd=checked.price_vnd,
        weight_grams=checked.weight_grams,
        sku=checked.sku or _generate_sku(product, checked.label),
        position=position or 0,
        active=checked.active,
    )
    db.session.add(variant)
    product.updated_by_id = acting.user.id
    product.updated_at = utcnow()
    db.session.flush()
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "variant.create",
        "variant",
        variant.id,
        {
            "label": variant.label,
            "product": product.name_vi,
            "price": variant.price_vnd,
            "product_id": product.id,
        },
    )
    return variant


def update_variant(
    acting: Acting, product: Product, variant: Variant, data: VariantData
) -> Variant:
    checked = check_variant(data)
    sku = checked.sku or variant.sku
    if sku != variant.sku and _sku_taken(acting.producer.id, sku, variant.id):
        raise Invalid(fields={"sku": _l("Mã SKU này đã dùng cho một quy cách khác của cơ sở.")})
    if (
        product.status == ProductStatus.PUBLISHED
        and variant.active
        and not checked.active
        and not any(v.active for v in product.variants if v.id != variant.id)
    ):
        raise Invalid(
            fields={
                "active": _l(
                    "Sản phẩm đang bán cần ít nhất một quy cách đang bán. "
                    "Hãy chuyển sản phẩm về nháp trước."
                )
            }
        )
    old_price = variant.price_vnd
    variant.label = checked.label
    variant.pack_size = checked.pack_size
    variant.unit = checked.unit
    variant.price_vnd = checked.price_vnd
    variant.weight_grams = checked.weight_grams
    variant.sku = sku
    variant.active = checked.active
    product.updated_by_id = acting.user.id
    product.updated_at = utcnow()
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "variant.update",
        "variant",
        variant.id,
        {
            "label": variant.label,
            "product": product.name_vi,
            "price": variant.price_vnd,
            "old_price": old_price,
            "product_id": product.id,
            "active": variant.active,
        },
    )
    db.session.flush()
    return variant


# ---- photos -----------------------------------------------------------------------------------


def add_images(
    acting: Acting, product: Product, streams: Iterable[IO[bytes]], alt: str = ""
) -> list[ProductImage]:
    """Store each upload (validated, EXIF-stripped, resized); all or nothing."""
    streams = list(streams)
    alt = clean_text(alt)
    if not streams:
        raise Invalid(fields={"photos": _l("Vui lòng chọn ít nhất một ảnh.")})
    if len(alt) > ALT_MAX:
        raise Invalid(fields={"alt": _l("Mô tả ảnh dài quá %(n)s ký tự.", n=ALT_MAX)})
    count = (
        db.session.scalar(
            select(func.count(ProductImage.id)).where(ProductImage.product_id == product.id)
        )
        or 0
    )
    if count + len(streams) > MAX_IMAGES:
        raise Invalid(fields={"photos": _l("Mỗi sản phẩm có tối đa %(n)s ảnh.", n=MAX_IMAGES)})
    try:
        check_request_pixels(streams)  # nine 40 MP photos refused before any is decoded
    except Invalid as error:
        raise Invalid(fields={"photos": error.message}, code=error.code) from error
    stored: list[StoredImage] = []
    try:
        for stream in streams:
            stored.append(store_image(stream))
    except Invalid as error:
        for image in stored:
            delete_image(image.key)
        raise Invalid(fields={"photos": error.message}, code=error.code) from error
    keys = [image.key for image in stored]
    after_rollback(lambda: [delete_image(key) for key in keys])  # rows gone: files too
    images = []
    for offset, image in enumerate(stored):
        row = ProductImage(
            product_id=product.id,
            key=image.key,
            width=image.width,
            height=image.height,
            alt=alt or product.name_vi[:ALT_MAX],
            position=count + offset,
        )
        db.session.add(row)
        images.append(row)
    product.updated_at = utcnow()
    db.session.flush()
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "image.add",
        "product",
        product.id,
        {"product": product.name_vi, "count": len(images)},
    )
    return images


def find_image(product: Product, image_id: int) -> ProductImage:
    image = db.session.scalar(
        select(ProductImage).where(
            ProductImage.id == image_id, ProductImage.product_id == product.id
        )
    )
    if image is None:
        raise NotFound()
    return image


def _ordered_images(product_id: int) -> list[ProductImage]:
    return list(
        db.session.scalars(
            select(ProductImage)
            .where(ProductImage.product_id == product_id)
            .order_by(ProductImage.position, ProductImage.id)
        )
    )


def update_image_alt(acting: Acting, product: Product, image: ProductImage, alt: str) -> None:
    alt = clean_text(alt)
    if len(alt) > ALT_MAX:
        raise Invalid(fields={"alt": _l("Mô tả ảnh dài quá %(n)s ký tự.", n=ALT_MAX)})
    if alt == image.alt:
        return
    image.alt = alt
    product.updated_at = utcnow()  # pages keyed on the product's version show the new text
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "image.update",
        "product",
        product.id,
        {"product": product.name_vi, "image_id": image.id},
    )
    db.session.flush()


def move_image(acting: Acting, product: Product, image: ProductImage, direction: str) -> None:
    """Move a photo one place up or down; the first photo is the one shown on cards."""
    if direction not in ("up", "down", "first"):
        raise Invalid(_l("Hướng di chuyển không hợp lệ."))
    images = _ordered_images(product.id)
    index = next(i for i, row in enumerate(images) if row.id == image.id)
    images.pop(index)
    target = {"up": max(index - 1, 0), "down": min(index + 1, len(images)), "first": 0}[direction]
    images.insert(target, image)
    if target == index:
        return
    for position, row in enumerate(images):
        row.position = position
    product.updated_at = utcnow()
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "image.move",
        "product",
        product.id,
        {"product": product.name_vi, "image_id": image.id},
    )
    db.session.flush()


def remove_image(acting: Acting, product: Product, image: ProductImage) -> str:
    """Delete a photo row; its files go once the deletion is committed. Returns its storage key."""
    key, image_id = image.key, image.id
    after_commit(lambda: delete_image(key))
    db.session.delete(image)
    db.session.flush()
    for position, row in enumerate(_ordered_images(product.id)):
        row.position = position
    product.updated_at = utcnow()
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "image.delete",
        "product",
        product.id,
        {"product": product.name_vi, "image_id": image_id},
    )
    db.session.flush()
    return key
