"""Public reads: the catalog home, producer and product pages, their structured data.

Each page loads what it lists in a fixed, small number of queries (no N+1); OCOP stars come only
from certificates valid today.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, load_only, selectinload

from cooperatives.models import OcopCertificate, Producer, Product, ProductImage, ProductStatus
from cooperatives.ocop import valid_certificates
from cooperatives.producers import clean_text
from core.db import db
from core.i18n import local_today
from core.text import fold

PAGE_SIZE = 24
SLUG_MAX = 120
SEARCH_WORDS = 6
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Page:
    """One page of results without a COUNT over the whole catalog (one row more tells if a next
    page exists). Same attribute names as Flask-SQLAlchemy's Pagination for the templates."""

    items: list[Product]
    page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


@dataclass(frozen=True)
class ProductCard:
    product: Product
    image: ProductImage | None
    price_from: int | None
    certificate: OcopCertificate | None


def current_certificates(
    product_ids: list[int], today: date | None = None
) -> dict[int, OcopCertificate]:
    """Certificates in force today: valid status, signed already, not yet lapsed."""
    return valid_certificates(product_ids, today or local_today())


def active_variants(product: Product) -> list:
    return [v for v in product.variants if v.active]


def price_from(product: Product) -> int | None:
    prices = [v.price_vnd for v in product.variants if v.active]
    return min(prices) if prices else None


def cards(products: list[Product]) -> list[ProductCard]:
    certificates = current_certificates([p.id for p in products])
    return [
        ProductCard(
            product=p,
            image=p.images[0] if p.images else None,
            price_from=price_from(p),
            certificate=certificates.get(p.id),
        )
        for p in products
    ]


def _card_query():
    return (
        select(Product)
        .where(Product.status == ProductStatus.PUBLISHED)
        .options(
            # a card shows names, a photo, prices and the producer: leave the long texts behind
            load_only(
                Product.id,
                Product.producer_id,
                Product.slug,
                Product.name_vi,
                Product.name_en,
                Product.status,
            ),
            joinedload(Product.producer).load_only(
                Producer.id, Producer.slug, Producer.name, Producer.province_code
            ),
            selectinload(Product.images),
            selectinload(Product.variants),
        )
        .order_by(Product.id.desc())
    )


def _page(query, page: int) -> Page:
    rows = list(
        db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).unique()
    )
    return Page(items=rows[:PAGE_SIZE], page=page, has_next=len(rows) > PAGE_SIZE)


def search_words(q: str | None) -> list[str]:
    return fold(clean_text(q))[:200].split()[:SEARCH_WORDS]


def _slug_ok(slug: str) -> bool:
    return 0 < len(slug) <= SLUG_MAX and SLUG_PATTERN.match(slug) is not None


def published_products(page: int, q: str | None = None) -> Page:
    """Published products, newest first; `q` matches every word without accents."""
    query = _card_query()  # newest first: walks ix_product_status_id and stops after one page
    for word in search_words(q):
        query = query.where(Product.search_text.contains(word, autoescape=True))
    return _page(query, page)


def producer_by_slug(slug: str) -> Producer | None:
    if not _slug_ok(slug):
        return None
    return db.session.scalar(select(Producer).where(Producer.slug == slug))


def producer_products(producer_id: int, page: int) -> Page:
    return _page(_card_query().where(Product.producer_id == producer_id), page)


def product_by_slug(slug: str) -> Product | None:
    if not _slug_ok(slug):
        return None
    return db.session.scalar(
        select(Product)
        .where(Product.slug == slug)
        .options(
            joinedload(Product.producer),
            joinedload(Product.category),
            selectinload(Product.images),
            selectinload(Product.variants),
        )
    )


def product_json_ld(
    product: Product,
    *,
    url: str,
    image_urls: list[str],
    description: str,
    certificate: OcopCertificate | None,
) -> dict[str, Any]:
    """schema.org Product with one Offer per pack size on sale; a GTIN only when it is real."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name_vi,
        "url": url,
        "description": description,
        "brand": {"@type": "Brand", "name": product.producer.name},
        "manufacturer": {"@type": "Organization", "name": product.producer.name},
    }
    if image_urls:
        data["image"] = image_urls
    if product.gtin:
        data["gtin"] = product.gtin
    offers = [
        {
            "@type": "Offer",
            "name": v.label,
            "sku": v.sku,
            "price": str(v.price_vnd),
            "priceCurrency": "VND",
            "availability": "https://schema.org/InStock",
            "url": url,
        }
        for v in product.variants
        if v.active
    ]
    if offers:
        data["offers"] = offers
    if certificate is not None:
        data["award"] = f"OCOP {certificate.stars}★ ({certificate.decision_number})"
    return data
