"""Variants of a product: pack sizes with prices, as typed by a farmer ('2,5', '150.000 đ').

SKUs are generated when left blank and unique per producer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from cooperatives.access import Acting
from cooperatives.labels import UNITS
from cooperatives.models import Product, ProductStatus, Variant
from cooperatives.producers import audit, clean_text
from core.db import db, utcnow
from core.errors import Invalid, NotFound
from core.money import parse_vnd
from core.numbers import parse_int
from core.text import slugify

LABEL_MAX, SKU_MAX = 120, 64
PRICE_MAX = 1_000_000_000  # one billion đồng per pack is beyond any farm product
PACK_MAX = Decimal("1000000")
WEIGHT_MAX = 1_000_000  # grams: one tonne
SKU_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]*$")


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
