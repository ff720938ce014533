"""The consumer's side of a stamp: the scan page /s/<code>, the PIN check, and the GS1 Digital
Link resolver /01/<gtin>[/10/<lot>][/21/<serial>].

Browsers get HTML (phone-first, no JavaScript); `Accept: application/ld+json` or
`application/json` gets schema.org JSON-LD with GS1 links; `application/linkset+json` (or
`?linkType=all`) an RFC 9264 linkset. Every HTML view of a stamp is counted, so stamp pages are
`private, no-store`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from limits import parse as parse_limit

from cooperatives.ocop import valid_certificate
from core import i18n
from core.db import unit_of_work
from core.errors import PROBLEM_JSON, NotFound
from core.gs1 import digital_link
from core.security import limiter
from core.urls import public_url
from traceability.models import Batch
from traceability.stamps import linked_data, resolver, scans
from traceability.stamps.codes import normalize_code
from traceability.stamps.forms import PinForm
from traceability.stamps.reading import UNKNOWN, ScanContext, StampReading, lot_of, read_stamp
from traceability.stamps.scan_page import (
    NO_STORE,
    epcis_path,
    html_stamp_response,
    lang_link,
    lot_photos,
    producer_address,
    producer_path,
    product_path,
    verify_path,
)

bp = Blueprint("scan", __name__)

SCAN_PAGE_LIMIT = "600/minute"  # beyond this an address gets 429 (a bot hammering pages)
SCAN_COUNT_LIMIT = parse_limit("120/minute")  # beyond this pages still show but stop counting
PIN_LIMIT_PER_ADDRESS = "10/minute;50/day"
PIN_LIMIT_PER_STAMP = "5/minute;20/day"
LINKSET = resolver.LINKSET_TYPE
JSONLD = "application/ld+json"


# ------------------------------------------------------------------------------ helpers


def _format() -> str:
    """'html', 'jsonld' or 'linkset' from the Accept header (and GS1's ?linkType=all)."""
    if request.args.get("linkType") == "all":
        return "linkset"
    best = request.accept_mimetypes.best_match(
        ["text/html", "application/ld+json", "application/json", LINKSET, PROBLEM_JSON],
        default="text/html",
    )
    if best == LINKSET:
        return "linkset"
    if best in (*resolver.JSONLD_TYPES, PROBLEM_JSON):  # a JSON client gets JSON
        return "jsonld"
    return "html"


def _json(body: dict[str, Any], mimetype: str, status: int = 200) -> Response:
    response = Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str),
        status=status,
        mimetype=mimetype,
    )
    response.headers["Vary"] = "Accept"
    return response


def _raw_path() -> str:
    """The path as sent, still percent-encoded (a lot may hold an encoded '/')."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        raw = raw.split("?", 1)[0]
        if "://" in raw:  # absolute-form request target
            raw = "/" + raw.split("://", 1)[1].split("/", 1)[-1]
        script = request.script_root
        if script and raw.startswith(script):
            raw = raw[len(script) :]
        return raw
    return quote(request.path)


def _count_allowed() -> bool:
    """A generous per-address limit on counted scans so a bot cannot inflate a stamp's count
    (the page is still shown: many phones share one carrier-grade NAT address)."""
    if not limiter.enabled:
        return True
    address = request.remote_addr or "?"
    return limiter.limiter.hit(SCAN_COUNT_LIMIT, "stamp-scan-count", address)


def _pin_stamp_key() -> str:
    code = normalize_code((request.view_args or {}).get("code")) or "unknown"
    return f"stamp-pin:{code}"


# ------------------------------------------------------------------------- the stamp page


def _read(
    fmt: str, *, via: str, code: str | None = None, stamp_id: int | None = None
) -> StampReading:
    """The one scan path for this request: a person's GET of the page counts as a scan (not a
    HEAD from a link checker, a chat app's preview or a bot, nor past the per-address limit);
    the counted scan is its own unit of work, committed before anything slow happens."""
    scan = None
    if fmt == "html" and request.method == "GET" and (code or stamp_id):
        client = scans.browser_family(request.user_agent.string)
        if client != "bot" and _count_allowed():
            scan = ScanContext(scans.coarse_network(request.remote_addr), client)
    today = i18n.local_today()
    if scan is None:
        return read_stamp(today=today, via=via, code=code, stamp_id=stamp_id)
    with unit_of_work():
        return read_stamp(today=today, via=via, code=code, stamp_id=stamp_id, scan=scan)


def _respond(
    reading: StampReading,
    fmt: str,
    *,
    pin_form: PinForm | None = None,
    pin_result: scans.PinResult | None = None,
    status: int | None = None,
) -> Response:
    """The stamp in the format asked for, from what was read once."""
    if fmt == "html":
        today = reading.today or i18n.local_today()
        return html_stamp_response(
            reading, today, pin_form=pin_form, pin_result=pin_result, status=status
        )
    summary, certificate = lot_of(reading.facts) if reading.has_lot else (None, None)
    code = 404 if reading.facts is None else (status or 200)
    if fmt == "jsonld":
        response = _json(linked_data.stamp_jsonld(reading, summary, certificate), JSONLD, code)
    else:
        product = summary.product if summary else None
        batch_id = summary.batch.id if summary else None
        anchor = reading.link or request.base_url
        response = _json(linked_data.links(anchor, product, batch_id), LINKSET, code)
    response.headers["Cache-Control"] = NO_STORE
    return response


@bp.get("/s")
def lookup():
    """A typed code (form on the 'not found' page) → its stamp page."""
    code = normalize_code(request.args.get("code"))
    if code is None:
        return _respond(UNKNOWN, _format())
    return redirect(url_for("scan.stamp", code=code), code=303)


@bp.get("/S/<code>")  # the QR writes the URL in upper case (alphanumeric mode: a smaller QR)
@bp.get("/s/<code>")  # registered first: url_for builds the lower-case address
@limiter.limit(SCAN_PAGE_LIMIT)
def stamp(code: str):
    fmt = _format()
    return _respond(_read(fmt, via="code", code=normalize_code(code[:40])), fmt)


@bp.post("/S/<code>/pin")
@bp.post("/s/<code>/pin")
@limiter.limit(PIN_LIMIT_PER_ADDRESS)
@limiter.limit(PIN_LIMIT_PER_STAMP, key_func=_pin_stamp_key)
def pin(code: str):
    fmt = _format()
    reading = _read(fmt, via="code", code=normalize_code(code[:40]))
    form = PinForm()
    if reading.facts is None:
        return _respond(reading, fmt)
    if not form.validate():
        return _respond(reading, fmt, pin_form=form, status=422)
    with unit_of_work():
        result = scans.check_pin(reading.facts.id, form.pin.data, recalled=reading.recalled)
    return _respond(reading, fmt, pin_form=PinForm(formdata=None), pin_result=result)


# --------------------------------------------------------------------------- the resolver


@bp.get("/01/<path:rest>")
@limiter.limit(SCAN_PAGE_LIMIT)
def digital_link_page(rest: str):
    link = resolver.parse(_raw_path(), request.args)
    found = resolver.resolve_gtin(link.gtin14)
    if found is None:
        raise NotFound(_("Mã GTIN %(gtin)s không có trong hệ thống.", gtin=link.gtin14))
    gtin_path = digital_link("", link.gtin14)
    lot_batch = resolver.find_lot(found, link.gtin14, link.lot) if link.lot else None
    if link.serial is not None:
        stamp_id = scans.find_by_digital_link(link.gtin14, link.serial, link.lot)
        if stamp_id is None:
            target = digital_link("", link.gtin14, link.lot) if lot_batch else gtin_path
            return _see_other(target)
        fmt = _format()
        return _respond(_read(fmt, via="dl", stamp_id=stamp_id), fmt)
    if link.lot is not None:
        if lot_batch is None:
            return _see_other(gtin_path)
        return _lot_response(lot_batch, digital_link(public_url(), link.gtin14, link.lot))
    return _gtin_response(found, link.gtin14)


def _see_other(path: str) -> Response:
    response = redirect(path, code=303)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _lot_response(batch: Batch, anchor: str) -> Response:
    from traceability.lots.summary import trace_summary

    summary = trace_summary(batch.id)
    certificate = valid_certificate(batch.product_id)
    fmt = _format()
    if fmt == "jsonld":
        body: dict[str, Any] = {
            "@context": {"@vocab": "https://schema.org/", "gs1": resolver.GS1_VOC},
            "@type": "Product",
            "@id": anchor,
        }
        body.update(linked_data.lot_fields(summary, certificate))
        response = _json(body, "application/ld+json")
    elif fmt == "linkset":
        response = _json(linked_data.links(anchor, summary.product, batch.id), LINKSET)
    else:
        html = render_template(
            "traceability/scan/lot.html",
            summary=summary,
            certificate=certificate,
            photos=lot_photos(summary.product, summary),
            epcis_path=epcis_path(batch.id),
            verify_path=verify_path(batch.id),
            product_path=product_path(summary.product),
            producer_path=producer_path(summary.producer),
            producer_address=producer_address(summary),
            lang_link=lang_link(request.path),
        )
        response = Response(html, mimetype="text/html")
        response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "no-cache"  # a recall must show at once
    return response


def _gtin_response(found: resolver.Resolution, gtin14: str) -> Response:
    product = found.product
    anchor = digital_link(public_url(), gtin14)
    fmt = _format()
    if fmt == "jsonld" and product is not None:
        body = {"@context": "https://schema.org/"}
        body.update(resolver.product_node(product, product.producer, public_url()))
        return _json(body, "application/ld+json")
    if fmt == "linkset":
        return _json(linked_data.links(anchor, product, None), LINKSET)
    if product is None:
        raise NotFound(_("Sản phẩm mang mã GTIN %(gtin)s không còn được bán.", gtin=gtin14))
    return _see_other(product_path(product))
