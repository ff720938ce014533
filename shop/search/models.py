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


# The trigram operator class needs the extension (migrations create it too).
event.listen(
    SearchDoc.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)
