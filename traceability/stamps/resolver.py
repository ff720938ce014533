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
from urllib.parse import quote, unquote

from flask_babel import gettext as _
from sqlalchemy import select

from cooperatives.catalog import is_public
from cooperatives.models import Producer, Product
from core.db import db
from core.errors import DomainError
from core.gs1 import digital_link, is_valid_ai_value, is_valid_gtin
from core.gs1_compression import Decompressed
from core.numbers import is_ascii_digits
from traceability.models import Batch, BatchStatus, StampRun
from traceability.stamps.scans import PrintedStamp, find_by_digital_link

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

    def path(self) -> str:
        """The link as this resolver writes it (GTIN-14, no CPV: no variant is recorded)."""
        return digital_link("", self.gtin14, self.lot, self.serial)


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
#
# One visibility rule (cooperatives.catalog.is_public): a GTIN whose product is a draft or
# archived is unknown here, at every level and in every format, as /p/ answers 404 for it.


@dataclass
class Resolved:
    """What a link names, level by level; `up` is the path to redirect to (303) when its lot
    or serial is unknown here. A stamp's lot is read only when asked for (the phones' redirect
    and page do not need it)."""

    link: DigitalLink
    product: Product
    stamp: PrintedStamp | None = None  # its id and the lot its run was printed for
    up: str | None = None
    batch_id: int | None = None
    _batch: Batch | None = None

    @property
    def batch(self) -> Batch | None:
        if self._batch is None and self.batch_id is not None:
            self._batch = db.session.get(Batch, self.batch_id)
        return self._batch


def public_product_of_gtin(gtin14: str) -> Product | None:
    product = db.session.scalar(select(Product).where(Product.gtin == gtin14))
    if product is None:
        # A GTIN changed or withdrawn after printing: stamps printed with it keep resolving.
        product_id = db.session.scalar(
            select(StampRun.product_id)
            .where(StampRun.dl_gtin == gtin14, StampRun.product_id.is_not(None))
            .order_by(StampRun.id.desc())
            .limit(1)
        )
        product = db.session.get(Product, product_id) if product_id else None
    return product if is_public(product) else None


def find_lot(product: Product, gtin14: str, lot: str) -> Batch | None:
    batch = db.session.scalar(
        select(Batch).where(Batch.product_id == product.id, Batch.lot_code == lot)
    )
    if batch is None:  # printed under this GTIN for a lot of another (renamed) product
        batch_id = db.session.scalar(
            select(StampRun.batch_id)
            .where(StampRun.dl_gtin == gtin14, StampRun.dl_lot == lot)
            .limit(1)
        )
        batch = db.session.get(Batch, batch_id) if batch_id else None
    return batch if batch is not None and is_public(batch.product) else None


def resolve(link: DigitalLink) -> Resolved | None:
    """None when the GTIN is unknown (or its product not public)."""
    product = public_product_of_gtin(link.gtin14)
    if product is None:
        return None
    gtin_path = digital_link("", link.gtin14)
    if link.serial is not None:
        stamp = find_by_digital_link(link.gtin14, link.serial, link.lot)
        if stamp is not None:  # its lot is the one its run was printed for
            return Resolved(link, product, stamp, batch_id=stamp.batch_id)
    batch = find_lot(product, link.gtin14, link.lot) if link.lot else None
    if link.serial is not None:
        up = digital_link("", link.gtin14, link.lot) if batch else gtin_path
        return Resolved(link, product, up=up)
    if link.lot is not None and batch is None:
        return Resolved(link, product, up=gtin_path)
    return Resolved(link, product, batch_id=batch.id if batch else None, _batch=batch)


# ------------------------------------------------------------------------ links and levels


@dataclass(frozen=True)
class Link:
    """One link of a linkset: a GS1 web vocabulary link type (the term after gs1:)."""

    link_type: str
    href: str
    title: str
    type: str | None = None
    hreflang: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"href": self.href, "title": self.title}
        if self.type:
            out["type"] = self.type
        if self.hreflang:
            out["hreflang"] = list(self.hreflang)
        return out


@dataclass(frozen=True)
class Level:
    """A level of the link tree (serial, lot, GTIN): its links; `links[0]` is its default."""

    anchor: str
    description: str
    links: tuple[Link, ...]


PAGE_LANGUAGES = ("vi", "en")
LINK_TYPES = ("defaultLink", "pip", "traceability", "epcis", "verificationService", "recallStatus")


def page_path(link: DigitalLink, *, lot: str | None, serial: str | None) -> str:
    """The page a lot or a stamp's link leads to (not the resolver: `/t/…`)."""
    return "/t" + digital_link("", link.gtin14, lot, serial)


def default_path(resolved: Resolved, product_path: str) -> str:
    """The default link's target as a path, without building the levels (the phones' path)."""
    link = resolved.link
    if resolved.stamp is not None:  # the lot as printed, even when the link left it out
        return page_path(link, lot=resolved.stamp.dl_lot or link.lot, serial=link.serial)
    if resolved.batch is not None:
        return page_path(link, lot=link.lot, serial=None)
    return product_path


def levels(
    resolved: Resolved, base_url: str, product_path: str, epcis_path: str | None
) -> list[Level]:
    """The levels of a resolved link, most specific first, up to the GTIN."""
    link, product, batch = resolved.link, resolved.product, resolved.batch
    out: list[Level] = []
    if resolved.stamp is not None:
        lot = resolved.stamp.dl_lot or link.lot
        href = base_url + page_path(link, lot=lot, serial=link.serial)
        title = _("Kiểm tra tem: chính hãng, số lần quét, mã PIN")
        out.append(
            Level(
                anchor=digital_link(base_url, link.gtin14, link.lot, link.serial),
                description=_(
                    "%(product)s, tem %(serial)s", product=product.name_vi, serial=link.serial
                ),
                links=(Link("verificationService", href, title, "text/html", PAGE_LANGUAGES),),
            )
        )
    if batch is not None:
        lot = batch.lot_code
        page = base_url + page_path(link, lot=lot, serial=None)
        lot_links = [
            Link(
                "traceability",
                page,
                _("Truy xuất nguồn gốc lô %(lot)s", lot=lot),
                "text/html",
                PAGE_LANGUAGES,
            )
        ]
        if epcis_path:
            lot_links.append(
                Link(
                    "epcis",
                    base_url + epcis_path,
                    _("Sự kiện EPCIS 2.0 của lô %(lot)s", lot=lot),
                    "application/ld+json",
                )
            )
        if batch.status == BatchStatus.RECALLED:
            lot_links.append(
                Link("recallStatus", page, _("Lô %(lot)s đã bị thu hồi", lot=lot), "text/html")
            )
        out.append(
            Level(
                anchor=digital_link(base_url, link.gtin14, lot),
                description=_("%(product)s, lô %(lot)s", product=product.name_vi, lot=lot),
                links=tuple(lot_links),
            )
        )
    pip = Link("pip", base_url + product_path, product.name_vi, "text/html", PAGE_LANGUAGES)
    out.append(Level(digital_link(base_url, link.gtin14), product.name_vi, (pip,)))
    return out


def link_type_term(value: str) -> str | None:
    """'gs1:pip' or 'https://gs1.org/voc/pip' → 'pip'; None for any other namespace."""
    for prefix in ("gs1:", GS1_VOC, "http://gs1.org/voc/"):
        if value.startswith(prefix):
            term = value[len(prefix) :]
            return term if term.isascii() and term.isalnum() else None
    return None


def find_link(found: list[Level], term: str) -> Link | None:
    """The link of this type at the most specific level that has one (the default link:
    the most specific level's default)."""
    for level in found:
        for link in level.links:
            if term == "defaultLink" or link.link_type == term:
                return link
    return None


def linkset(found: list[Level]) -> dict[str, Any]:
    """An RFC 9264 linkset, one context object per level, valid against GS1's linkset schema:
    every link with href and title, the default link also under its descriptive type."""
    entries = []
    for level in found:
        entry: dict[str, Any] = {"anchor": level.anchor, "itemDescription": level.description}
        default = level.links[0]
        entry[GS1_VOC + "defaultLink"] = [{"href": default.href, "title": default.title}]
        for link in level.links:
            entry.setdefault(GS1_VOC + link.link_type, []).append(link.as_json())
        entries.append(entry)
    return {"linkset": entries}


def uncompressed(decoded: Decompressed) -> tuple[str, list[tuple[str, str]]]:
    """The path of a decompressed link (GTIN and its qualifiers) and its query pairs (the
    other AIs as data attributes, then non-GS1 pairs). Raises MalformedLink without a GTIN."""
    values = dict(decoded.elements)
    gtin = values.get("01")
    if gtin is None:
        raise MalformedLink(_("Đường dẫn nén không chứa mã GTIN (AI 01)."))
    path = "/01/" + gtin
    for ai in QUALIFIERS:
        if ai in values:
            path += f"/{ai}/" + quote(values[ai], safe="")
    query = [(ai, value) for ai, value in decoded.elements if ai not in ("01", *QUALIFIERS)]
    return path, query + list(decoded.other)


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
