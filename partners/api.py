"""The partner API under /api/v1: product feeds (JSON with cursor and tombstones, Google Merchant
RSS, Meta CSV). Keys through accounts.api_keys (`require_api_key("feeds:read")`); every error
is application/problem+json. Feeds stream, gzip on request, ETag/304 and Last-Modified."""

from __future__ import annotations

import csv
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, g, request, stream_with_context
from flask_babel import lazy_gettext as _l

from accounts.api_keys import require_api_key
from core.errors import Forbidden, Invalid
from core.numbers import parse_int
from core.security import csrf
from partners import api_input, feeds
from partners.schemas import FeedQueryIn, FullFeedQueryIn
from partners.services import partner_of_key

bp = Blueprint("partners_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _partner_id() -> int:
    partner = partner_of_key(g.api_key)
    if partner is None:
        raise Forbidden(_l("Khoá API này không thuộc đối tác nào đang hoạt động."))
    return partner.id


_RFC3339 = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?$"
)


def _parse_since(text: str | None) -> datetime | None:
    """An RFC 3339 date-time (`Z` or an offset; none: UTC), clamped to years 1900–2999."""
    if text is None:
        return None
    match = _RFC3339.match(text.strip())
    value = None
    if match:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        offset = timedelta(0)
        if zone and zone not in "Zz":
            sign = -1 if zone[0] == "-" else 1
            offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        try:
            value = (
                datetime(
                    min(max(int(year), 1900), 2999),
                    int(month),
                    int(day),
                    int(hour),
                    int(minute),
                    min(int(second), 59),  # a leap second
                    int((fraction or "0")[:6].ljust(6, "0")),
                    tzinfo=UTC,
                )
                - offset
            )
        except ValueError:
            value = None
    if value is None:
        message = _l("updated_since cần là thời điểm ISO 8601, ví dụ 2026-01-31T08:00:00Z.")
        raise Invalid(message, fields={"updated_since": message})
    return value


def _gzip(chunks: Iterable[str]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    buffer: list[bytes] = []
    size = 0
    for chunk in chunks:
        data = compressor.compress(chunk.encode())
        if data:
            buffer.append(data)
            size += len(data)
        if size >= 65536:
            yield b"".join(buffer)
            buffer, size = [], 0
    buffer.append(compressor.flush())
    yield b"".join(buffer)


def _batched(chunks: Iterable[str]) -> Iterator[bytes]:
    buffer: list[str] = []
    size = 0
    for chunk in chunks:
        buffer.append(chunk)
        size += len(chunk)
        if size >= 65536:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    yield "".join(buffer).encode()


def _feed_response(kind: str, mimetype: str, body, partner_id: int) -> Response:
    """304 when the client's copy is current; otherwise a streamed (maybe gzipped) body."""
    query = "&".join(f"{k}={v}" for k, v in sorted(request.args.items()))
    etag, modified = feeds.state(partner_id, kind, query)
    fresh = bool(request.if_none_match) and request.if_none_match.contains(etag)
    if fresh or (
        not request.if_none_match
        and request.if_modified_since is not None
        and modified is not None
        and modified.replace(microsecond=0) <= request.if_modified_since
    ):
        response = Response(status=304)
    else:
        chunks = stream_with_context(body())
        gzip = "gzip" in request.accept_encodings
        response = Response(_gzip(chunks) if gzip else _batched(chunks), mimetype=mimetype)
        if gzip:
            response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag)
    if modified is not None:
        response.last_modified = modified
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Authorization, Accept-Encoding"
    return response


@bp.get("/feeds/products")
@require_api_key("feeds:read")
def products_json():
    args = api_input.query(FeedQueryIn())
    partner_id = _partner_id()
    after = feeds.decode_cursor(args.get("cursor"))
    limit = feeds.DEFAULT_LIMIT
    if "limit" in args:
        limit = parse_int(args["limit"], minimum=1, maximum=feeds.MAX_LIMIT)
        if limit is None:
            message = _l("limit cần là số từ 1 đến %(max)s.", max=feeds.MAX_LIMIT)
            raise Invalid(message, fields={"limit": message})
    since = _parse_since(args.get("updated_since"))

    def body() -> Iterator[str]:
        yield '{"items":['
        last = None
        count = 0
        for record in feeds.entries(partner_id, since=since, after=after, limit=limit):
            yield ("," if count else "") + json.dumps(record, ensure_ascii=False)
            last = record["id"]
            count += 1
        cursor = feeds.encode_cursor(last) if last is not None and count >= limit else None
        yield '],"next_cursor":' + json.dumps(cursor) + "}"

    return _feed_response("json", "application/json", body, partner_id)


def _x(value) -> str:
    text = _XML_BAD.sub("", str(value))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _variant_rows(record: dict) -> Iterator[dict]:
    """One Google/Meta item per active variant (item_group_id = the product)."""
    for variant in record["variants"]:
        title = record["title"]
        if len(record["variants"]) > 1 or variant["label"]:
            title = f"{title} – {variant['label']}"
        yield {
            "id": f"cq-{variant['id']}",
            "item_group_id": f"cq-p{record['id']}",
            "title": title[:150],
            "description": (record["description"] or record["title"])[:5000],
            "link": record["url"],
            "image_link": record["images"][0] if record["images"] else None,
            "additional_image_links": record["images"][1:10],
            "availability": variant["availability"],
            "price": f"{variant['price_vnd']} VND",
            "brand": record["producer"]["name"][:70],
            "gtin": record["gtin"],
            "ocop_stars": record["ocop"]["stars"] if record["ocop"] else "",
            "province": record["province"]["name"] if record["province"] else "",
            "commune": record["commune"]["name"] if record["commune"] else "",
        }


def _image(row: dict) -> str:
    from core.urls import public_url

    return row["image_link"] or public_url(feeds.PLACEHOLDER_IMAGE)


@bp.get("/feeds/products.xml")
@require_api_key("feeds:read")
def products_xml():
    api_input.query(FullFeedQueryIn())
    partner_id = _partner_id()

    def body() -> Iterator[str]:
        from core.urls import public_url

        yield (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n<channel>\n'
            f"<title>Chợ Quê</title>\n<link>{_x(public_url('/'))}</link>\n"
            "<description>Sản phẩm của các hợp tác xã và hộ sản xuất trên Chợ Quê</description>\n"
        )
        for record in feeds.entries(partner_id):
            for row in _variant_rows(record):
                parts = [
                    "<item>",
                    f"<g:id>{_x(row['id'])}</g:id>",
                    f"<g:item_group_id>{_x(row['item_group_id'])}</g:item_group_id>",
                    f"<g:title>{_x(row['title'])}</g:title>",
                    f"<g:description>{_x(row['description'])}</g:description>",
                    f"<g:link>{_x(row['link'])}</g:link>",
                    f"<g:image_link>{_x(_image(row))}</g:image_link>",
                    *(
                        f"<g:additional_image_link>{_x(u)}</g:additional_image_link>"
                        for u in row["additional_image_links"]
                    ),
                    f"<g:availability>{row['availability']}</g:availability>",
                    f"<g:price>{row['price']}</g:price>",
                    "<g:condition>new</g:condition>",
                    f"<g:brand>{_x(row['brand'])}</g:brand>",
                    (
                        f"<g:gtin>{_x(row['gtin'])}</g:gtin>"
                        if row["gtin"]
                        else "<g:identifier_exists>no</g:identifier_exists>"
                    ),
                    "</item>\n",
                ]
                yield "".join(parts)
        yield "</channel>\n</rss>\n"

    return _feed_response("xml", "application/xml", body, partner_id)


META_COLUMNS = (
    "id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "link",
    "image_link",
    "brand",
    "gtin",
    "item_group_id",
    "custom_label_0",
    "custom_label_1",
)


def _csv_safe(value) -> str:
    text = str(value or "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/feeds/products.csv")
@require_api_key("feeds:read")
def products_csv():
    api_input.query(FullFeedQueryIn())
    partner_id = _partner_id()

    def body() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(META_COLUMNS)
        for record in feeds.entries(partner_id):
            for row in _variant_rows(record):
                writer.writerow(
                    [
                        _csv_safe(x)
                        for x in (
                            row["id"],
                            row["title"],
                            row["description"],
                            row["availability"].replace("_", " "),
                            "new",
                            row["price"],
                            row["link"],
                            _image(row),
                            row["brand"],
                            row["gtin"] or "",
                            row["item_group_id"],
                            f"OCOP {row['ocop_stars']} sao" if row["ocop_stars"] else "",
                            row["province"],
                        )
                    ]
                )
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()

    return _feed_response("csv", "text/csv", body, partner_id)


@bp.post("/orders")
@require_api_key("orders:write")
def create_order():
    from partners import orders
    from partners.schemas import OrderIn, PartnerOrderOut
    from partners.services import get_partner

    partner = get_partner(_partner_id())
    key = orders.check_idempotency_key(request.headers.get("Idempotency-Key"))
    data = api_input.json_body(OrderIn(), _l("Đơn hàng chưa hợp lệ: %(names)s"))
    order, created = orders.place_partner_order(partner, key, data)
    body = PartnerOrderOut().dump(orders.describe(order))
    return body, 201 if created else 200, {"Location": f"/api/v1/orders/{order.ref}"}


@bp.get("/orders/<ref>")
@require_api_key("orders:write")
def read_order(ref: str):
    from partners import orders
    from partners.schemas import PartnerOrderOut
    from partners.services import get_partner

    partner = get_partner(_partner_id())
    return PartnerOrderOut().dump(orders.describe(orders.order_of(partner, ref)))
