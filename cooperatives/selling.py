"""What the shop may read about products for sale: plain facts, no ORM objects of this package.

The shop (above) sells variants; it asks here for names, prices, weights and whether a variant is
on sale (active variant of a published product). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from cooperatives.access import active_membership
from cooperatives.models import MemberRole, Producer, Product, ProductStatus, Variant
from cooperatives.ocop import valid_certificates
from core.db import db


@dataclass(frozen=True)
class SaleVariant:
    id: int
    product_id: int
    producer_id: int
    producer_name: str
    producer_slug: str
    product_slug: str
    product_name_vi: str
    product_name_en: str
    label: str
    price_vnd: int
    weight_grams: int | None
    pack_size: Decimal
    unit: str
    sku: str
    on_sale: bool  # active variant of a published product

    def product_name(self, locale: str = "vi") -> str:
        return (
            self.product_name_en
            if locale == "en" and self.product_name_en
            else self.product_name_vi
        )


def sale_variants(variant_ids: Iterable[int]) -> dict[int, SaleVariant]:
    """Facts of these variants (absent ids: the variant no longer exists)."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Variant, Product, Producer)
        .join(Product, Product.id == Variant.product_id)
        .join(Producer, Producer.id == Variant.producer_id)
        .where(Variant.id.in_(ids))
    )
    return {
        v.id: SaleVariant(
            id=v.id,
            product_id=p.id,
            producer_id=v.producer_id,
            producer_name=pr.name,
            producer_slug=pr.slug,
            product_slug=p.slug,
            product_name_vi=p.name_vi,
            product_name_en=p.name_en or "",
            label=v.label,
            price_vnd=v.price_vnd,
            weight_grams=v.weight_grams,
            pack_size=v.pack_size,
            unit=v.unit,
            sku=v.sku,
            on_sale=bool(v.active) and p.status == ProductStatus.PUBLISHED,
        )
        for v, p, pr in rows
    }


def variant_ids_of_product(product_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(Variant.id)
            .where(Variant.product_id == product_id, Variant.active.is_(True))
            .order_by(Variant.position, Variant.id)
        )
    )


def producer_names(producer_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(producer_ids))
    if not ids:
        return {}
    rows = db.session.execute(select(Producer.id, Producer.name).where(Producer.id.in_(ids)))
    return {row.id: row.name for row in rows}


def producer_contact(producer_id: int) -> tuple[str, str | None, str | None] | None:
    """(name, phone, e-mail) of a producer, for packing slips and notices."""
    row = db.session.execute(
        select(Producer.name, Producer.phone, Producer.email).where(Producer.id == producer_id)
    ).first()
    return (row.name, row.phone, row.email) if row else None


def is_member(user_id: int, producer_id: int) -> bool:
    return active_membership(user_id, producer_id) is not None


def is_manager(user_id: int, producer_id: int) -> bool:
    membership = active_membership(user_id, producer_id)
    return membership is not None and membership.role == MemberRole.MANAGER


def ocop_stars(product_ids: Iterable[int], today: date | None = None) -> dict[int, int]:
    """Stars of certificates in force today (none: no entry)."""
    return {pid: c.stars for pid, c in valid_certificates(list(product_ids), today).items()}


def producers_in_province(province_code: int) -> list[int]:
    return list(
        db.session.scalars(select(Producer.id).where(Producer.province_code == province_code))
    )


def variant_ids_of_producer(producer_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(Variant.id)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.producer_id == producer_id, Product.status != ProductStatus.ARCHIVED)
            .order_by(Product.name_vi, Variant.position, Variant.id)
        )
    )
