"""The search index: one row per product with its accent-folded text and the facts the filters
need. PostgreSQL searches it with pg_trgm (GIN index: word prefixes, one typo); SQLite with
LIKE on the folded text."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import DDL, ForeignKey, Index, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow


class SearchDoc(db.Model):
    __tablename__ = "shop_search_doc"
    __table_args__ = (
        Index(
            "ix_shop_search_doc_folded_trgm",
            "folded",
            postgresql_using="gin",
            postgresql_ops={"folded": "gin_trgm_ops"},
            sqlite_where=text("0"),  # SQLite cannot use it: kept empty there
        ),
        Index("ix_shop_search_doc_listed", "published", "product_id"),
    )

    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    producer_id: Mapped[int] = mapped_column(index=True)
    published: Mapped[bool] = mapped_column(default=False)
    folded: Mapped[str] = mapped_column(Text, default="")  # " cam cao phong htx …" (leading space)
    name_folded: Mapped[str] = mapped_column(String(200), default="")
    province_code: Mapped[int] = mapped_column(index=True)
    category_group: Mapped[str | None] = mapped_column(String(16))
    price_min: Mapped[int | None]
    stars: Mapped[int | None]
    stars_until: Mapped[date | None]
    in_stock: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# SQLite: an FTS5 index over the folded text, kept in step by triggers (migrations create the
# same; autogenerate leaves *_fts tables alone, see core.db.alembic_include_object).
FTS_TABLE = "shop_search_fts"
SQLITE_FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS shop_search_fts USING fts5(folded, "
    "content='shop_search_doc', content_rowid='product_id', tokenize='unicode61', prefix='1 2 3')",
    "CREATE TRIGGER IF NOT EXISTS shop_search_doc_fts_ai AFTER INSERT ON shop_search_doc BEGIN "
    "INSERT INTO shop_search_fts(rowid, folded) VALUES (new.product_id, new.folded); END",
    "CREATE TRIGGER IF NOT EXISTS shop_search_doc_fts_ad AFTER DELETE ON shop_search_doc BEGIN "
    "INSERT INTO shop_search_fts(shop_search_fts, rowid, folded) "
    "VALUES ('delete', old.product_id, old.folded); END",
    "CREATE TRIGGER IF NOT EXISTS shop_search_doc_fts_au AFTER UPDATE OF folded ON shop_search_doc "
    "BEGIN INSERT INTO shop_search_fts(shop_search_fts, rowid, folded) "
    "VALUES ('delete', old.product_id, old.folded); "
    "INSERT INTO shop_search_fts(rowid, folded) VALUES (new.product_id, new.folded); END",
)
SQLITE_FTS_DROP = (
    "DROP TRIGGER IF EXISTS shop_search_doc_fts_au",
    "DROP TRIGGER IF EXISTS shop_search_doc_fts_ad",
    "DROP TRIGGER IF EXISTS shop_search_doc_fts_ai",
    "DROP TABLE IF EXISTS shop_search_fts",
)
for _statement in SQLITE_FTS_DDL:
    event.listen(SearchDoc.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in SQLITE_FTS_DROP:
    event.listen(SearchDoc.__table__, "before_drop", DDL(_statement).execute_if(dialect="sqlite"))

# The trigram operator class needs the extension (migrations create it too).
event.listen(
    SearchDoc.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)
