"""The marketplace bulk-upload spreadsheet a producer downloads for its own products (XLSX with
openpyxl in write-only mode, and CSV): one row per variant, with OCOP and origin columns."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from cooperatives.models import Product, ProductStatus
from core.db import db
from core.i18n import local_today
from partners.feeds import PAGE, describe, load

COLUMNS = (
    "SKU",
    "Tên sản phẩm",
    "Quy cách",
    "Giá (đồng)",
    "Khối lượng (g)",
    "Có thể bán",
    "Tình trạng",
    "GTIN",
    "Sao OCOP",
    "Số quyết định OCOP",
    "OCOP hiệu lực đến",
    "Nhà sản xuất",
    "Tỉnh/thành",
    "Xã/phường",
    "Lô đang bán",
    "Link truy xuất",
    "Mô tả",
    "Ảnh",
    "Link sản phẩm",
    "Trạng thái",
)


def rows(producer_id: int) -> Iterator[list[Any]]:
    """Rows of the producer's products that are not archived, PAGE products at a time."""
    today = local_today()
    last = 0
    while True:
        ids = list(
            db.session.scalars(
                select(Product.id)
                .where(
                    Product.producer_id == producer_id,
                    Product.status != ProductStatus.ARCHIVED.value,
                    Product.id > last,
                )
                .order_by(Product.id)
                .limit(PAGE)
            )
        )
        products = load(ids)
        if not products:
            return
        status = {p.id: p.status for p in products}
        for record in describe(products, today):
            ocop = record["ocop"] or {}
            for variant in record["variants"]:
                yield [
                    variant["sku"],
                    record["title"],
                    variant["label"],
                    variant["price_vnd"],
                    variant["weight_grams"],
                    variant["available_units"],
                    "còn hàng" if variant["available_units"] > 0 else "hết hàng",
                    record["gtin"] or "",
                    ocop.get("stars", ""),
                    ocop.get("certificate_number", ""),
                    ocop.get("valid_until", ""),
                    record["producer"]["name"],
                    record["province"]["name"] if record["province"] else "",
                    record["commune"]["name"] if record["commune"] else "",
                    record["lot_code"] or "",
                    record["trace_url"] or "",
                    record["description"],
                    " ".join(record["images"]),
                    record["url"],
                    status[record["id"]],
                ]
        last = products[-1].id


def _safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def as_csv(producer_id: int) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows(producer_id):
        writer.writerow([_safe(v) for v in row])
        if out.tell() > 65536:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def as_xlsx(producer_id: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("San pham")
    sheet.append(list(COLUMNS))
    for row in rows(producer_id):
        sheet.append([_safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
