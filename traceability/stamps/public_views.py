"""The consumer's side of a stamp: the scan page /s/<code>, the PIN check, and the pages the
GS1 Digital Link resolver (resolver_views: /01/…) leads to, /t/01/<gtin>/10/<lot>[/21/<serial>].

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
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

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
PIN_LIMITS_PER_VISITOR = parse_many("5/minute;20/day")  # one address, one stamp
PIN_LIMITS_PER_STAMP = parse_many("30/minute;200/day")  # all addresses: 10**6 PINs take 13 years
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


def _pin_allowed(stamp_id: int) -> bool:
    """PIN tries are limited on the stamp the view resolved (whatever the URL looked like),
    per address and stamp, and per stamp across addresses at a level one address alone cannot
    reach: a stranger who knows a code cannot lock its buyer out."""
    if not limiter.enabled:
        return True
    address = request.remote_addr or "?"
    checks = [(limit, "stamp-pin", str(stamp_id), address) for limit in PIN_LIMITS_PER_VISITOR]
    checks += [(limit, "stamp-pin-all", str(stamp_id)) for limit in PIN_LIMITS_PER_STAMP]
    strategy = limiter.limiter
    if not all(strategy.test(limit, *keys) for limit, *keys in checks):
        return False
    return all([strategy.hit(limit, *keys) for limit, *keys in checks])


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
def pin(code: str):
    fmt = _format()
    reading = _read(fmt, via="code", code=normalize_code(code[:40]))
    if reading.facts is None:
        return _respond(reading, fmt)
    return _pin_answer(reading, fmt)


def _pin_answer(reading: StampReading, fmt: str) -> Response:
    """The PIN check of a stamp read by the one scan path (its /s/ page or its Digital Link
    page). Tries are limited on the stamp resolved, per address and stamp (_pin_allowed); a
    stamp whose lot the page does not show (not activated, or its product not public) confirms
    nothing."""
    form = PinForm()
    if not form.validate():
        return _respond(reading, fmt, pin_form=form, status=422)
    if not _pin_allowed(reading.facts.id):
        raise TooManyRequests()
    with unit_of_work():
        result = scans.check_pin(
            reading.facts.id, form.pin.data, recalled=reading.recalled, shown=reading.has_lot
        )
    return _respond(reading, fmt, pin_form=PinForm(formdata=None), pin_result=result)


# ------------------------------------------------- the pages the resolver's links lead to


@bp.route("/t/01/<path:rest>", methods=["GET", "POST"])
@limiter.limit(SCAN_PAGE_LIMIT)
def link_page(rest: str):
    """The page a GS1 Digital Link's default link leads to: `/t/01/<gtin>/10/<lot>` the lot
    page, `/t/01/<gtin>[/10/<lot>]/21/<serial>` that stamp's page (counted as a scan; its PIN
    form posts here). The link itself (`/01/…`) is the resolver's and redirects here."""
    link = resolver.parse(_raw_path()[2:], request.args)
    found = resolver.resolve(link)
    if found is None or found.up is not None:
        raise NotFound(_("Không tìm thấy lô hàng hoặc tem của đường dẫn này."))
    if found.stamp is not None:
        fmt = _format()
        reading = _read(fmt, via="dl", stamp_id=found.stamp.id)
        if request.method == "POST":
            return _pin_answer(reading, fmt)
        return _respond(reading, fmt)
    if found.batch is None or request.method == "POST":
        raise NotFound(_("Không tìm thấy lô hàng hoặc tem của đường dẫn này."))
    return _lot_response(found.batch, digital_link(public_url(), link.gtin14, link.lot))


def _lot_response(batch: Batch, anchor: str, *, jsonld: bool = False) -> Response:
    """The lot page (HTML), or for machines the lot as schema.org JSON-LD."""
    from traceability.lots.summary import trace_summary

    summary = trace_summary(batch.id)
    certificate = valid_certificate(batch.product_id)
    if jsonld:
        body: dict[str, Any] = {
            "@context": {"@vocab": "https://schema.org/", "gs1": resolver.GS1_VOC},
            "@type": "Product",
            "@id": anchor,
        }
        body.update(linked_data.lot_fields(summary, certificate))
        response = _json(body, "application/ld+json")
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
