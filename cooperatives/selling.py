"""What the shop may read about products for sale: plain facts, no ORM objects of this package.

The shop (above) sells variants; it asks here for names, prices, weights and whether a variant is
on sale (active variant of a published product). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from blinker import Namespace
from sqlalchemy import select

from cooperatives.access import active_membership
from cooperatives.models import (
    MemberRole,
    OcopCertificate,
    Producer,
    Product,
    ProductStatus,
    Variant,
)
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


# --------------------------------------------------------------------------- for search


@dataclass(frozen=True)
class SearchFacts:
    product_id: int
    producer_id: int
    published: bool
    text: str  # everything a shopper may type: names, producer, province, group
    name: str
    province_code: int
    category_code: str | None
    price_min: int | None
    stars: int | None
    stars_until: date | None


def search_facts(product_ids: Iterable[int]) -> dict[int, SearchFacts]:
    """What the shop's search index holds for these products (three queries)."""
    from sqlalchemy import func

    from cooperatives.models import OcopCategory
    from core.places import province

    ids = sorted(set(product_ids))
    if not ids:
        return {}
    prices = dict(
        db.session.execute(
            select(Variant.product_id, func.min(Variant.price_vnd))
            .where(Variant.product_id.in_(ids), Variant.active.is_(True))
            .group_by(Variant.product_id)
        ).all()
    )
    categories = {c.code: c for c in db.session.scalars(select(OcopCategory))}
    certificates = valid_certificates(ids)
    found: dict[int, SearchFacts] = {}
    rows = db.session.execute(
        select(Product, Producer.name, Producer.province_code)
        .join(Producer, Producer.id == Product.producer_id)
        .where(Product.id.in_(ids))
    )
    for product, producer_name, province_code in rows:
        category = categories.get(product.category_code or "")
        group = categories.get(category.parent_code or "") if category else None
        place = province(province_code)
        words = [
            product.name_vi,
            product.name_en or "",
            producer_name,
            place.name if place else "",
            category.name_vi if category else "",
            group.name_vi if group else "",
        ]
        certificate = certificates.get(product.id)
        found[product.id] = SearchFacts(
            product_id=product.id,
            producer_id=product.producer_id,
            published=product.status == ProductStatus.PUBLISHED,
            text=" ".join(w for w in words if w),
            name=product.name_vi,
            province_code=province_code,
            category_code=product.category_code,
            price_min=prices.get(product.id),
            stars=certificate.stars if certificate else None,
            stars_until=certificate.valid_until if certificate else None,
        )
    return found


def all_product_ids(after_id: int = 0, limit: int = 5000) -> list[int]:
    return list(
        db.session.scalars(
            select(Product.id).where(Product.id > after_id).order_by(Product.id).limit(limit)
        )
    )


def category_groups() -> list[tuple[str, str, str]]:
    """The six OCOP groups: (code, Vietnamese name, English name)."""
    from cooperatives.models import OcopCategory

    rows = db.session.execute(
        select(OcopCategory.code, OcopCategory.name_vi, OcopCategory.name_en)
        .where(OcopCategory.parent_code.is_(None))
        .order_by(OcopCategory.position, OcopCategory.code)
    )
    return [tuple(row) for row in rows]


# Sent after a flush that inserted or changed products, their variants or certificates
# (sender: "cooperatives"; kwargs: product_ids). The shop keeps its search index current with it.
product_changed = Namespace().signal("product-changed")


def _collect_changes(session, flush_context, instances) -> None:
    ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Product):
            ids.add(obj.id) if obj.id else None
        elif isinstance(obj, Variant | OcopCertificate):
            ids.add(obj.product_id) if obj.product_id else None
    if ids:
        session.info.setdefault("cooperatives_changed_products", set()).update(ids)


def _announce_changes(session, flush_context) -> None:
    ids = session.info.pop("cooperatives_changed_products", None)
    for obj in session.new:
        if isinstance(obj, Product) and obj.id:
            ids = (ids or set()) | {obj.id}
    if ids:
        product_changed.send("cooperatives", product_ids=sorted(ids))


def watch_product_changes(session_class) -> None:
    from sqlalchemy import event

    if not event.contains(session_class, "before_flush", _collect_changes):
        event.listen(session_class, "before_flush", _collect_changes)
        event.listen(session_class, "after_flush", _announce_changes)


def variant_product_ids(product_ids: Iterable[int]) -> dict[int, int]:
    """variant id → product id for these products' active variants."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Variant.id, Variant.product_id).where(
            Variant.product_id.in_(ids), Variant.active.is_(True)
        )
    )
    return {v: p for v, p in rows}


def group_of(category_code: str | None) -> str | None:
    """The OCOP group ('1'…'6') of a category code ('1.1' → '1')."""
    if not category_code:
        return None
    return category_code.split(".", 1)[0]


def product_id_by_slug(slug: str) -> int | None:
    return db.session.scalar(select(Product.id).where(Product.slug == slug))


def product_ids_of_variants(variant_ids: Iterable[int]) -> list[int]:
    ids = sorted(set(variant_ids))
    if not ids:
        return []
    return sorted(set(db.session.scalars(select(Variant.product_id).where(Variant.id.in_(ids)))))


def cards_for(product_ids: list[int]) -> list:
    """Product cards (catalog.ProductCard) of these published products, in the given order:
    three queries whatever their number."""
    from cooperatives import catalog

    if not product_ids:
        return []
    rows = list(db.session.execute(catalog._card_query().where(Product.id.in_(product_ids))))
    by_id = {card.product.id: card for card in catalog.cards(rows)}
    return [by_id[i] for i in product_ids if i in by_id]
