"""GS1 Digital Link resolver: parse `/01/<gtin>[/22/<cpv>][/10/<lot>][/21/<serial>]`, find
what it names, and describe it for machines (schema.org JSON-LD, RFC 9264 linksets).

Rules followed (GS1 Digital Link standard 1.x): GTIN-8/12/13/14 accepted and normalised to 14
digits after the check digit is verified; key qualifiers only in the order 22, 10, 21; values
percent-decoded and limited to the GS1 AI character set 82 (20 characters at most); data
attributes (17 expiry, 11 production date) go in the query and are validated but not used to
look anything up.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import unquote

from flask_babel import gettext as _
from sqlalchemy import select

from cooperatives.models import Producer, Product
from core.db import db
from core.errors import DomainError
from core.gs1 import is_valid_ai_value, is_valid_gtin
from core.numbers import is_ascii_digits
from traceability.models import Batch, StampRun

QUALIFIERS = ("22", "10", "21")  # consumer product variant, lot, serial: in this order
GS1_VOC = "https://gs1.org/voc/"
LINKSET_TYPE = "application/linkset+json"
JSONLD_TYPES = ("application/ld+json", "application/json")


class MalformedLink(DomainError):
    """The address is not a well-formed GS1 Digital Link: 400 with a message saying why."""

    status = 400
    code = "malformed_digital_link"


@dataclass(frozen=True)
class DigitalLink:
    gtin14: str
    cpv: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: date | None = None
    production: date | None = None

    def path(self, *, lot: bool = True, serial: bool = True) -> str:
        from core.gs1 import digital_link

        return digital_link(
            "", self.gtin14, self.lot if lot else None, self.serial if serial and lot else None
        )


def _gs1_date(value: str, name: str) -> date:
    """YYMMDD; DD = 00 means the last day of the month. YY within 50 years either side of
    today is read as the GS1 General Specifications say (sliding century)."""
    if len(value) != 6 or not is_ascii_digits(value):
        raise MalformedLink(_("%(ai)s phải có dạng YYMMDD (6 chữ số).", ai=name))
    yy, month, day = int(value[:2]), int(value[2:4]), int(value[4:])
    this_year = date.today().year
    year = (this_year // 100) * 100 + yy
    if year - this_year >= 51:
        year -= 100
    elif this_year - year > 49:
        year += 100
    if not 1 <= month <= 12:
        raise MalformedLink(_("Tháng trong %(ai)s không hợp lệ.", ai=name))
    last = calendar.monthrange(year, month)[1]
    if day == 0:
        day = last
    if not 1 <= day <= last:
        raise MalformedLink(_("Ngày trong %(ai)s không hợp lệ.", ai=name))
    return date(year, month, day)


def parse(raw_path: str, query: Any) -> DigitalLink:
    """Parse a raw (still percent-encoded) path starting with /01/ and its query arguments."""
    segments = raw_path.strip("/").split("/")
    if len(segments) < 2 or segments[0] != "01":
        raise MalformedLink(_("Đường dẫn phải bắt đầu bằng /01/ và mã GTIN."))
    try:
        values = [unquote(s, errors="strict") for s in segments]
    except UnicodeDecodeError:
        raise MalformedLink(_("Đường dẫn có ký tự mã hóa sai.")) from None
    gtin = values[1]
    if not is_ascii_digits(gtin) or len(gtin) not in (8, 12, 13, 14):
        raise MalformedLink(_("Mã GTIN phải có 8, 12, 13 hoặc 14 chữ số."))
    if not is_valid_gtin(gtin):
        raise MalformedLink(_("Số kiểm tra của mã GTIN %(gtin)s không đúng.", gtin=gtin))
    rest = values[2:]
    if len(rest) % 2:
        raise MalformedLink(_("Mỗi mã AI phải đi kèm một giá trị."))
    found: dict[str, str] = {}
    last_index = -1
    for ai, value in zip(rest[::2], rest[1::2], strict=True):
        if ai not in QUALIFIERS:
            raise MalformedLink(_("Mã AI %(ai)s không được hỗ trợ trong đường dẫn.", ai=ai[:8]))
        index = QUALIFIERS.index(ai)
        if index <= last_index:
            raise MalformedLink(_("Các mã AI phải theo thứ tự 22, 10, 21 và không lặp lại."))
        last_index = index
        if not is_valid_ai_value(value):
            raise MalformedLink(
                _("Giá trị của AI %(ai)s rỗng, quá 20 ký tự hoặc có ký tự không hợp lệ.", ai=ai)
            )
        found[ai] = value
    expiry = production = None
    if query.get("17") is not None:
        expiry = _gs1_date(query.get("17", ""), "17")
    if query.get("11") is not None:
        production = _gs1_date(query.get("11", ""), "11")
    return DigitalLink(
        gtin14=gtin.rjust(14, "0"),
        cpv=found.get("22"),
        lot=found.get("10"),
        serial=found.get("21"),
        expiry=expiry,
        production=production,
    )


# ------------------------------------------------------------------------------- look-ups


@dataclass(frozen=True)
class Resolution:
    """What a link names: the product of the GTIN (None when only old stamp runs know it)."""

    product: Product | None
    producer_id: int


def resolve_gtin(gtin14: str) -> Resolution | None:
    product = db.session.scalar(select(Product).where(Product.gtin == gtin14))
    if product is not None:
        return Resolution(product, product.producer_id)
    # A GTIN changed or withdrawn after printing: stamps printed with it keep resolving.
    producer_id = db.session.scalar(
        select(StampRun.producer_id).where(StampRun.dl_gtin == gtin14).limit(1)
    )
    return Resolution(None, producer_id) if producer_id is not None else None


def find_lot(resolution: Resolution, gtin14: str, lot: str) -> Batch | None:
    query = select(Batch).where(Batch.producer_id == resolution.producer_id, Batch.lot_code == lot)
    if resolution.product is not None:
        batch = db.session.scalar(query.where(Batch.product_id == resolution.product.id))
        if batch is not None:
            return batch
    batch_id = db.session.scalar(
        select(StampRun.batch_id).where(StampRun.dl_gtin == gtin14, StampRun.dl_lot == lot).limit(1)
    )
    return db.session.get(Batch, batch_id) if batch_id else None


# ------------------------------------------------------------------------ for machines


def product_node(product: Product, producer: Producer, base_url: str) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": "Product",
        "name": product.name_vi,
        "url": f"{base_url}/p/{product.slug}",
        "manufacturer": {"@type": "Organization", "name": producer.name},
        "brand": {"@type": "Brand", "name": producer.name},
    }
    if product.name_en:
        node["alternateName"] = product.name_en
    if product.gtin:
        node["gtin"] = product.gtin
        node["@id"] = f"{base_url}/01/{product.gtin}"
    return node


def linkset(anchor: str, links: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """An RFC 9264 linkset: relation types are GS1 web vocabulary link types."""
    entry: dict[str, Any] = {"anchor": anchor}
    for relation, targets in links.items():
        key = relation if relation.startswith("http") else GS1_VOC + relation
        entry[key] = targets
    return {"linkset": [entry]}
