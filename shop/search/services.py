"""Search: case- and accent-insensitive (đ folds to d), word prefixes as you type, best matches
first, filters (province, OCOP stars in force, group, price, in stock), facet counts over the
matches, pagination without a COUNT over the catalogue. On PostgreSQL a word that matches
nothing is retried allowing one typo (pg_trgm word similarity, same GIN index)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, delete, literal, or_, select, text, update

from cooperatives.selling import all_product_ids, search_facts
from core.db import db, is_sqlite, utcnow
from core.i18n import local_today
from core.text import fold
from shop.inventory.models import StockLot
from shop.search.models import SearchDoc

PAGE_SIZE = 24
MAX_WORDS = 6
FACET_SAMPLE = 1000  # facets count the first this many matches (no COUNT over everything)


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --------------------------------------------------------------------------- indexing


def _in_stock(product_ids: list[int], today: date) -> set[int]:
    from cooperatives.selling import variant_product_ids

    by_variant = variant_product_ids(product_ids)
    if not by_variant:
        return set()
    rows = db.session.execute(
        select(StockLot.variant_id)
        .where(
            StockLot.variant_id.in_(sorted(by_variant)),
            StockLot.blocked.is_(False),
            (StockLot.best_before.is_(None)) | (StockLot.best_before >= today),
            StockLot.on_hand > StockLot.allocated,
        )
        .distinct()
    )
    return {by_variant[v] for (v,) in rows}


def refresh(product_ids: Iterable[int]) -> int:
    """Bring these products' index rows up to date (deleted products leave the index)."""
    ids = sorted(set(product_ids))
    if not ids:
        return 0
    facts = search_facts(ids)
    stocked = _in_stock(ids, local_today())
    existing = {
        d.product_id: d
        for d in db.session.scalars(select(SearchDoc).where(SearchDoc.product_id.in_(ids)))
    }
    gone = [i for i in ids if i not in facts]
    if gone:
        db.session.execute(delete(SearchDoc).where(SearchDoc.product_id.in_(gone)))
    from cooperatives.selling import group_of

    for product_id, f in facts.items():
        doc = existing.get(product_id) or SearchDoc(product_id=product_id)
        doc.producer_id = f.producer_id
        doc.published = f.published
        doc.folded = " " + fold(f.text)
        doc.name_folded = fold(f.name)[:200]
        doc.province_code = f.province_code
        doc.category_group = group_of(f.category_code)
        doc.price_min = f.price_min
        doc.stars = f.stars
        doc.stars_until = f.stars_until
        doc.in_stock = product_id in stocked
        doc.updated_at = utcnow()
        db.session.add(doc)
    db.session.flush()
    return len(facts)


def reindex_all(batch: int = 2000) -> int:
    done, after = 0, 0
    while True:
        ids = all_product_ids(after, batch)
        if not ids:
            return done
        done += refresh(ids)
        after = ids[-1]


# --------------------------------------------------------------------------- searching


@dataclass(frozen=True)
class Filters:
    province: int | None = None
    stars: int | None = None  # at least
    group: str | None = None
    price_min: int | None = None
    price_max: int | None = None
    in_stock: bool = False


@dataclass
class Results:
    product_ids: list[int]
    page: int
    has_next: bool
    typo: bool = False
    facets: dict[str, Counter] = field(default_factory=dict)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def words_of(q: str | None) -> list[str]:
    return [w for w in fold(q or "")[:200].replace("-", " ").split() if w][:MAX_WORDS]


def _fts_match(words: list[str]):
    """SQLite: every word as a prefix, through the FTS5 index."""
    expression = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
    return SearchDoc.product_id.in_(
        text("SELECT rowid FROM shop_search_fts WHERE shop_search_fts MATCH :fts").bindparams(
            fts=expression
        )
    )


def _word_match(word: str, typo: bool):
    prefix = SearchDoc.folded.like(f"% {_like_escape(word)}%", escape="\\")
    if typo and len(word) >= 4:
        return or_(prefix, literal(word).op("<%")(SearchDoc.folded))
    return prefix


def _filtered(filters: Filters, today: date):
    query = select(SearchDoc.product_id).where(SearchDoc.published.is_(True))
    if filters.province:
        query = query.where(SearchDoc.province_code == filters.province)
    if filters.stars:
        query = query.where(SearchDoc.stars >= filters.stars, SearchDoc.stars_until >= today)
    if filters.group:
        query = query.where(SearchDoc.category_group == filters.group)
    if filters.price_min is not None:
        query = query.where(SearchDoc.price_min >= filters.price_min)
    if filters.price_max is not None:
        query = query.where(SearchDoc.price_min <= filters.price_max)
    if filters.in_stock:
        query = query.where(SearchDoc.in_stock.is_(True))
    return query


def search(
    q: str | None, filters: Filters = Filters(), page: int = 1, *, facets: bool = True
) -> Results:
    today = local_today()
    words = words_of(q)
    base = _filtered(filters, today)
    typo = False

    def matching(allow_typo: bool):
        query = base
        if words and is_sqlite():
            return query.where(_fts_match(words))
        for word in words:
            query = query.where(_word_match(word, allow_typo))
        return query

    query = matching(False)
    if words:
        phrase = " ".join(words)
        rank = case(
            (SearchDoc.name_folded.like(f"{_like_escape(phrase)}%", escape="\\"), 0), else_=1
        ) + case((SearchDoc.name_folded.like(f"%{_like_escape(phrase)}%", escape="\\"), 0), else_=1)
        ordered = query.order_by(rank, SearchDoc.in_stock.desc(), SearchDoc.product_id.desc())
    else:
        ordered = query.order_by(SearchDoc.product_id.desc())
    ids = list(db.session.scalars(ordered.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)))
    if not ids and words and page == 1 and not is_sqlite():
        typo = True
        db.session.execute(text("SET LOCAL pg_trgm.word_similarity_threshold = 0.5"))
        query = matching(True)
        ordered = query.order_by(SearchDoc.in_stock.desc(), SearchDoc.product_id.desc())
        ids = list(db.session.scalars(ordered.limit(PAGE_SIZE + 1)))
    result = Results(
        product_ids=ids[:PAGE_SIZE], page=page, has_next=len(ids) > PAGE_SIZE, typo=typo
    )
    if facets and (words or filters != Filters()):
        sample = query.order_by(None).limit(FACET_SAMPLE).subquery()
        rows = db.session.execute(
            select(
                SearchDoc.province_code,
                SearchDoc.category_group,
                SearchDoc.stars,
                SearchDoc.stars_until,
            ).join(sample, sample.c.product_id == SearchDoc.product_id)
        )
        provinces, groups, stars = Counter(), Counter(), Counter()
        for province_code, group, star, until in rows:
            provinces[province_code] += 1
            if group:
                groups[group] += 1
            if star and until and until >= today:
                stars[star] += 1
        result.facets = {"province": provinces, "group": groups, "stars": stars}
    return result


def slug_lookup_ids(slug: str) -> int | None:
    """The baseline the search benchmark compares with: one indexed lookup by slug."""
    from cooperatives.selling import product_id_by_slug

    return product_id_by_slug(slug)


def refresh_stock(variant_ids: Iterable[int]) -> None:
    """After stock moved: two statements while every variant still has stock (the common case
    in a sale), a full refresh of the products concerned once one runs out."""
    from cooperatives.selling import product_ids_of_variants

    ids = sorted(set(variant_ids))
    if not ids:
        return
    today = local_today()
    stocked = set(
        db.session.scalars(
            select(StockLot.variant_id)
            .where(
                StockLot.variant_id.in_(ids),
                StockLot.blocked.is_(False),
                (StockLot.best_before.is_(None)) | (StockLot.best_before >= today),
                StockLot.on_hand > StockLot.allocated,
            )
            .distinct()
        )
    )
    products = product_ids_of_variants(ids)
    if stocked == set(ids):
        db.session.execute(
            update(SearchDoc)
            .where(SearchDoc.product_id.in_(products), SearchDoc.in_stock.is_(False))
            .values(in_stock=True)
            .execution_options(synchronize_session=False)
        )
        return
    refresh(products)
