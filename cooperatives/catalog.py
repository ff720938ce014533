"""Public reads: the catalog home, producer and product pages, their structured data.

Each page loads what it lists in a fixed, small number of queries (no N+1); OCOP stars come only
from certificates valid today.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, load_only, selectinload

from cooperatives.models import (
    OcopCertificate,
    Producer,
    Product,
    ProductImage,
    ProductStatus,
    Variant,
)
from cooperatives.ocop import valid_certificates
from cooperatives.producers import clean_text
from core.db import db
from core.i18n import local_today
from core.text import fold

PAGE_SIZE = 24
PRODUCER_PAGE_SIZE = 12  # a producer's page is read on a phone: its story, then a dozen cards
SLUG_MAX = 120
SEARCH_WORDS = 6
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Page:
    """One page of results without a COUNT over the whole catalog (one row more tells if a next
    page exists). Same attribute names as Flask-SQLAlchemy's Pagination for the templates."""

    items: list[Any]  # rows of _card_query: (Product, image_id, price_from)
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
class CardImage:
    """The first photo of a product card (what `catalog_image` needs, no ORM object)."""

    key: str
    width: int
    height: int
    alt: str


@dataclass(frozen=True)
class ProductCard:
    product: Product
    image: CardImage | None
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


def cards(rows: list[Any]) -> list[ProductCard]:
    """Cards from `_card_query` rows (product, first photo id, lowest active price): two more
    queries whatever the number of cards (their photos, their certificates)."""
    image_ids = [row.image_id for row in rows if row.image_id is not None]
    images: dict[int, CardImage] = {}
    if image_ids:
        found = db.session.execute(
            select(
                ProductImage.id,
                ProductImage.key,
                ProductImage.width,
                ProductImage.height,
                ProductImage.alt,
            ).where(ProductImage.id.in_(image_ids))
        )
        images = {r.id: CardImage(r.key, r.width, r.height, r.alt) for r in found}
    certificates = current_certificates([row.Product.id for row in rows])
    return [
        ProductCard(
            product=row.Product,
            image=images.get(row.image_id) if row.image_id is not None else None,
            price_from=row.price_from,
            certificate=certificates.get(row.Product.id),
        )
        for row in rows
    ]


def _card_query():
    """Published products with what a card shows: names, the producer, the first photo's id and
    the lowest active price (sub-queries: no photo or variant objects loaded)."""
    first_image = (
        select(ProductImage.id)
        .where(ProductImage.product_id == Product.id)
        .order_by(ProductImage.position, ProductImage.id)
        .limit(1)
        .correlate(Product)
        .scalar_subquery()
        .label("image_id")
    )
    lowest_price = (
        select(func.min(Variant.price_vnd))
        .where(Variant.product_id == Product.id, Variant.active.is_(True))
        .correlate(Product)
        .scalar_subquery()
        .label("price_from")
    )
    return (
        select(Product, first_image, lowest_price)
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
        )
        .order_by(Product.id.desc())
    )


def _page(query, page: int, size: int = PAGE_SIZE) -> Page:
    rows = list(db.session.execute(query.limit(size + 1).offset((page - 1) * size)))
    return Page(items=rows[:size], page=page, has_next=len(rows) > size)


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
    query = _card_query().where(Product.producer_id == producer_id)
    return _page(query, page, PRODUCER_PAGE_SIZE)


def is_public(product: Product | None) -> bool:
    """The one visibility rule for every public answer (/p/, the GS1 resolver, its linksets
    and JSON-LD, the stamp page): a published product exists for the public, and so does an
    archived one (its printed stamps and lot pages keep working; its page says it is no longer
    sold). Drafts are previewed by their producer's members on /p/ only."""
    return product is not None and is_public_status(product.status)


def is_public_status(status: str | None) -> bool:
    """The same rule on a product's status read without the product (the scan page's one
    statement)."""
    return status in (ProductStatus.PUBLISHED, ProductStatus.ARCHIVED)


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
