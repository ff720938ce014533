"""What a partner's feeds list: published products of producers that opted in to the partner,
read in pages of PAGE ids (keyset) so memory stays flat however large the catalogue.

`updated_since` lists what changed since then: products still listed as items, products that
left the partner's feed (unpublished, archived, opt-in withdrawn, product excluded by its
producer) as tombstones; a product whose OCOP certificate lapsed or was revoked comes as an
item with `ocop: null`, on the day it lapses even before `flask ocop expire` has run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, or_, select, union

from cooperatives.models import (
    OcopCertificate,
    Producer,
    Product,
    ProductImage,
    ProductStatus,
    Variant,
)
from cooperatives.ocop import valid_certificate_rows
from core import places
from core.db import among, db, utcnow
from core.errors import Invalid
from core.gs1 import digital_link
from core.i18n import local_today
from core.numbers import parse_int
from core.urls import public_url
from partners.models import FeedChange, PartnerOptIn, PartnerProductExclusion
from shop.inventory.models import Reservation, StockLot, StockMovement
from shop.inventory.services import available_units
from traceability.lots.selling import lot_facts

PAGE = 500
MAX_LIMIT = 100_000
DEFAULT_LIMIT = 1000
PLACEHOLDER_IMAGE = "/static/img/product-placeholder.png"
CURSOR_PATTERN = r"^p[1-9][0-9]{0,8}$"
_CURSOR = re.compile(CURSOR_PATTERN)


def bad_cursor() -> Invalid:
    message = _l("Con trỏ phân trang không hợp lệ: dùng đúng giá trị next_cursor đã nhận.")
    return Invalid(message, fields={"cursor": message})


def encode_cursor(product_id: int) -> str:
    """Opaque to partners (documented by its pattern, so any value the pattern allows works)."""
    return f"p{product_id}"


def decode_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not _CURSOR.match(cursor):
        raise bad_cursor()
    value = parse_int(cursor[1:], minimum=1)
    if value is None:
        raise bad_cursor()
    return value


def visible_ids(partner_id: int):
    """Products the partner may list now (a select of Product.id): published, of a producer
    opted in to the partner, not excluded by it. Correlated EXISTS, so a keyset walk goes along
    the product key instead of sorting every listed product per page."""
    opted_in = (
        select(PartnerOptIn.id)
        .where(
            PartnerOptIn.producer_id == Product.producer_id,
            PartnerOptIn.partner_id == partner_id,
            PartnerOptIn.withdrawn_at.is_(None),
        )
        .exists()
    )
    excluded = (
        select(PartnerProductExclusion.id)
        .where(
            PartnerProductExclusion.partner_id == partner_id,
            PartnerProductExclusion.product_id == Product.id,
        )
        .exists()
    )
    return select(Product.id).where(
        Product.status == ProductStatus.PUBLISHED.value, opted_in, ~excluded
    )


def _candidates(partner_id: int, since: datetime | None):
    if since is None:
        return visible_ids(partner_id).subquery()
    changed = visible_ids(partner_id).where(
        or_(Product.updated_at >= since, Product.published_at >= since)
    )
    logged = select(FeedChange.product_id.label("id")).where(
        FeedChange.changed_at >= since,
        or_(FeedChange.partner_id.is_(None), FeedChange.partner_id == partner_id),
    )
    # Stars end the day after valid_until, whether or not `flask ocop expire` has logged it.
    lapsed = visible_ids(partner_id).where(
        select(OcopCertificate.id)
        .where(
            OcopCertificate.product_id == Product.id,
            OcopCertificate.valid_until >= since.date() - timedelta(days=1),
            OcopCertificate.valid_until < local_today(),
        )
        .exists()
    )
    return union(changed, logged, lapsed).subquery()


def id_pages(
    partner_id: int, *, since: datetime | None = None, after: int = 0, limit: int = MAX_LIMIT
) -> Iterator[list[int]]:
    """Ids in order, PAGE at a time, at most `limit` in all."""
    candidates = _candidates(partner_id, since) if since is not None else None
    last, left = after, limit
    while left > 0:
        if candidates is None:  # the full feed: a keyset walk along the product key
            query = visible_ids(partner_id).where(Product.id > last).order_by(Product.id)
        else:
            query = select(candidates.c.id).where(candidates.c.id > last).order_by(candidates.c.id)
        ids = list(db.session.scalars(query.limit(min(PAGE, left))))
        if not ids:
            return
        yield ids
        last, left = ids[-1], left - len(ids)
        if len(ids) < min(PAGE, left + len(ids)):
            return


@dataclass
class Entry:
    product: Product | None  # None: a tombstone
    product_id: int
    data: dict[str, Any] | None = None


def _lots_on_sale(variant_ids: list[int], today: date) -> dict[int, str]:
    """variant id → code of the lot it sells first (earliest best-before)."""
    rows = db.session.execute(
        select(StockLot.variant_id, StockLot.batch_id)
        .where(
            StockLot.variant_id.in_(variant_ids),
            StockLot.on_hand > StockLot.allocated,
            StockLot.blocked.is_(False),
            or_(StockLot.best_before.is_(None), StockLot.best_before >= today),
        )
        .order_by(StockLot.variant_id, StockLot.best_before, StockLot.id)
    ).all()
    first: dict[int, int] = {}
    for variant_id, batch_id in rows:
        first.setdefault(variant_id, batch_id)
    facts = lot_facts(set(first.values())) if first else {}
    return {v: facts[b].lot_code for v, b in first.items() if b in facts and not facts[b].recalled}


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def describe(products: list[Any], today: date) -> list[dict[str, Any]]:
    """The feed record of each product (batched: a handful of queries per page)."""
    ids = [p.id for p in products]
    certificates = valid_certificate_rows(sorted(ids), today)
    variants = [v for p in products for v in p.variants if v.active]
    base = public_url()
    stock = available_units([v.id for v in variants], today=today)
    lots = _lots_on_sale([v.id for v in variants], today) if variants else {}
    result = []
    for product in products:
        producer = product.producer
        province = places.province(producer.province_code)
        commune = places.ward(producer.ward_code)
        certificate = certificates.get(product.id)
        url = f"{base}/p/{product.slug}"
        images = [f"{base}/media/{i.key}/full.webp" for i in product.images]
        gtin = product.gtin or None
        items = []
        lot_code = None
        for variant in product.variants:
            if not variant.active:
                continue
            units = max(0, int(stock.get(variant.id, 0)))
            lot_code = lot_code or lots.get(variant.id)
            items.append(
                {
                    "id": variant.id,
                    "sku": variant.sku,
                    "label": variant.label,
                    "price_vnd": variant.price_vnd,
                    "weight_grams": variant.weight_grams,
                    "available_units": units,
                    "availability": "in_stock" if units > 0 else "out_of_stock",
                }
            )
        trace_url = None
        if gtin:
            trace_url = digital_link(base, gtin, lot_code)
        result.append(
            {
                "id": product.id,
                "removed": False,
                "slug": product.slug,
                "title": product.name_vi,
                "title_en": product.name_en or None,
                "description": product.description_vi or product.name_vi,
                "url": url,
                "images": images,
                "category_code": product.category_code,
                "gtin": gtin,
                "producer": {"name": producer.name, "url": f"{base}/c/{producer.slug}"},
                "province": {"code": province.code, "name": province.name} if province else None,
                "commune": {"code": commune.code, "name": commune.name} if commune else None,
                "ocop": (
                    {
                        "stars": certificate.stars,
                        "certificate_number": certificate.decision_number,
                        "valid_until": certificate.valid_until.isoformat(),
                    }
                    if certificate is not None
                    else None
                ),
                "lot_code": lot_code,
                "trace_url": trace_url,
                "availability": (
                    "in_stock" if any(v["available_units"] > 0 for v in items) else "out_of_stock"
                ),
                "variants": items,
                "updated_at": _iso(product.updated_at),
            }
        )
    return result


@dataclass(slots=True)
class ListedProducer:
    name: str
    slug: str
    province_code: int
    ward_code: int


@dataclass(slots=True)
class Listed:
    """A product as feeds read it: plain values, no ORM object."""

    id: int
    slug: str
    name_vi: str
    name_en: str
    description_vi: str
    category_code: str | None
    gtin: str | None
    status: str
    updated_at: datetime
    producer: ListedProducer
    variants: list[Any]
    images: list[Any]


def load(product_ids: Iterable[int]) -> list[Any]:
    """Products with producer, active variants and images as plain rows (three Core queries:
    no ORM identity map, so a page costs what its rows cost)."""
    ids = sorted(set(product_ids))
    if not ids:
        return []
    wanted = set(ids)
    p, r = Product.__table__.c, Producer.__table__.c
    products = {
        row.id: Listed(*row[:9], ListedProducer(*row[9:]), [], [])
        for row in db.session.execute(
            select(
                p.id,
                p.slug,
                p.name_vi,
                p.name_en,
                p.description_vi,
                p.category_code,
                p.gtin,
                p.status,
                p.updated_at,
                r.name,
                r.slug,
                r.province_code,
                r.ward_code,
            )
            .join(Producer.__table__, r.id == p.producer_id)
            .where(among(p.id, ids))
            .order_by(p.id)
        )
        if row.id in wanted
    }
    v = Variant.__table__.c
    for row in db.session.execute(
        select(v.id, v.product_id, v.sku, v.label, v.price_vnd, v.weight_grams, v.active)
        .where(among(v.product_id, ids))
        .order_by(v.product_id, v.position, v.id)
    ):
        if row.product_id in products:
            products[row.product_id].variants.append(row)
    i = ProductImage.__table__.c
    for row in db.session.execute(
        select(i.product_id, i.key)
        .where(among(i.product_id, ids))
        .order_by(i.product_id, i.position, i.id)
    ):
        if row.product_id in products:
            products[row.product_id].images.append(row)
    return list(products.values())


def entries(
    partner_id: int, *, since: datetime | None = None, after: int = 0, limit: int = MAX_LIMIT
) -> Iterator[dict[str, Any]]:
    """Feed records in id order; tombstones `{"id", "removed": true}` only with `since`."""
    today = local_today()
    for ids in id_pages(partner_id, since=since, after=after, limit=limit):
        if since is None:  # the full feed's pages are read from visible_ids itself
            live = set(ids)
        else:
            live = set(db.session.scalars(visible_ids(partner_id).where(Product.id.in_(ids))))
        described = {record["id"]: record for record in describe(load(live), today)}
        for product_id in ids:
            yield described.get(product_id) or {"id": product_id, "removed": True}


@cache
def _state_statement() -> Any:
    """One statement, built once: a 304 costs one round trip and no query building."""
    live = Reservation.expires_at > bindparam("now", type_=Reservation.expires_at.type)
    newest_change = select(FeedChange).order_by(FeedChange.id.desc()).limit(1).subquery()
    return select(
        select(newest_change.c.id).scalar_subquery(),
        select(newest_change.c.changed_at).scalar_subquery(),
        select(func.max(Product.updated_at)).scalar_subquery(),
        select(func.max(StockMovement.id)).scalar_subquery(),
        select(func.count()).select_from(Reservation).where(live).scalar_subquery(),
        select(func.max(Reservation.id)).where(live).scalar_subquery(),
    )


def state(partner_id: int, kind: str, query: str) -> tuple[str, datetime | None]:
    """(ETag, Last-Modified) of a feed from watermarks, each one index step: the change log
    (every product, variant, certificate and opt-in change writes a row), the newest product
    update, the append-only stock movements, live reservations and the day (certificates
    lapse by date). No aggregate over the catalogue or the stock."""
    row = db.session.execute(_state_statement(), {"now": utcnow()}).one()
    last_change_id, last_change, last_update, last_movement = row[:4]
    held = tuple(row[4:])
    source = "|".join(
        str(x)
        for x in (
            kind,
            query,
            partner_id,
            local_today(),
            last_change_id,
            last_update,
            last_movement,
            held,
        )
    )
    etag = hashlib.sha256(source.encode()).hexdigest()[:32]
    stamps = [t for t in (last_update, last_change) if t is not None]
    modified = max((t if t.tzinfo else t.replace(tzinfo=UTC)) for t in stamps) if stamps else None
    return etag, modified
