"""The consumer's side of a stamp: the scan page /s/<code>, the PIN check, and the pages the
GS1 Digital Link resolver (resolver_views: /01/…) leads to, /t/01/<gtin>/10/<lot>[/21/<serial>].

Browsers get HTML (phone-first, no JavaScript); `Accept: application/ld+json` or
`application/json` gets schema.org JSON-LD with GS1 links; `application/linkset+json` (or
`?linkType=all`) an RFC 9264 linkset. Every HTML view of a stamp is counted, so stamp pages are
`private, no-store`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from limits import parse as parse_limit
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from cooperatives.catalog import is_public
from cooperatives.models import OcopCertificate, Product
from cooperatives.ocop import valid_certificate
from core import i18n
from core.db import db, utcnow
from core.errors import NotFound
from core.gs1 import digital_link
from core.security import limiter
from traceability.models import Batch, BatchStatus, Stamp
from traceability.stamps import resolver, scan_cache, scans
from traceability.stamps.codes import normalize_code
from traceability.stamps.forms import PinForm
from traceability.stamps.scan_page import (
    NO_STORE,
    base_url,
    epcis_path,
    html_stamp_response,
    lang_link,
    lot_photos,
    producer_address,
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


# ------------------------------------------------------------------------------ helpers


def _format() -> str:
    """'html', 'jsonld' or 'linkset' from the Accept header (and GS1's ?linkType=all)."""
    if request.args.get("linkType") == "all":
        return "linkset"
    best = request.accept_mimetypes.best_match(
        ["text/html", "application/ld+json", "application/json", LINKSET], default="text/html"
    )
    if best == LINKSET:
        return "linkset"
    if best in resolver.JSONLD_TYPES:
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


@dataclass
class StampView:
    verdict: scans.Verdict
    stamp: Stamp | None = None
    summary: Any = None  # TraceSummary when the stamp is active
    certificate: OcopCertificate | None = None
    tally: scans.ScanTally | None = None
    link: str = ""  # the URL printed in its QR (canonical address of this page)


def _stamp_view(stamp: Stamp | None, *, via: str) -> StampView:
    """The stamp as machines get it (JSON-LD, linkset): read only, never counted."""
    if stamp is None:
        return StampView(scans.Verdict.UNKNOWN)
    batch = db.session.get(Batch, stamp.batch_id) if stamp.batch_id else None
    if batch is not None and not is_public(batch.product):  # the one visibility rule
        batch = None
    verdict = scans.verdict_of(stamp, batch)
    counted = scans.with_copy_warning(
        stamp.id, scans.tally(stamp), int(current_app.config["SCAN_COPY_WARNING_THRESHOLD"])
    )
    view = StampView(verdict=verdict, stamp=stamp, tally=counted)
    if verdict in (scans.Verdict.GENUINE, scans.Verdict.RECALLED) and batch is not None:
        from traceability.lots.batches import trace_summary

        view.summary = trace_summary(batch.id)
        view.certificate = valid_certificate(batch.product_id)
    return view


def _canonical(stamp: Stamp | None, via: str) -> str:
    if stamp is None:
        return ""
    if via == "dl" and stamp.run.dl_gtin and stamp.run.dl_lot:
        serial = stamp.dl_serial or str(stamp.serial)
        return digital_link(base_url(), stamp.run.dl_gtin, stamp.run.dl_lot, serial)
    return f"{base_url()}/s/{stamp.code}"


def _stamp_jsonld(view: StampView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@context": {"@vocab": "https://schema.org/", "gs1": resolver.GS1_VOC},
        "@type": "IndividualProduct",
    }
    stamp = view.stamp
    if stamp is None:
        body["additionalProperty"] = [_property("stampVerdict", view.verdict.value)]
        return body
    body["@id"] = view.link  # never the stamp's /s/ code: it is the stamp's secret
    body["serialNumber"] = stamp.dl_serial or str(stamp.serial)
    properties = [_property("stampVerdict", view.verdict.value)]
    if view.tally is not None:
        properties.append(_property("scanCount", view.tally.count))
        if view.tally.first_at:
            properties.append(_property("firstScannedAt", view.tally.first_at.isoformat()))
        properties.append(_property("copyWarning", view.tally.copy_warning))
    if view.summary is not None:
        lot = _lot_fields(view.summary, view.certificate)
        properties += lot.pop("additionalProperty", [])
        body.update(lot)
    body["additionalProperty"] = properties
    return body


def _property(name: str, value: Any) -> dict[str, Any]:
    return {"@type": "PropertyValue", "propertyID": name, "value": value}


def _lot_fields(summary: Any, certificate: OcopCertificate | None) -> dict[str, Any]:
    batch, product, producer = summary.batch, summary.product, summary.producer
    node = resolver.product_node(product, producer, base_url())
    fields: dict[str, Any] = {
        "name": product.name_vi,
        "isVariantOf": node,
        "manufacturer": node["manufacturer"],
        "gs1:hasBatchLotNumber": batch.lot_code,
        "productionDate": batch.produced_on.isoformat(),
        "countryOfOrigin": {"@type": "Country", "name": "VN"},
        "subjectOf": {
            "@type": "Dataset",
            "name": "EPCIS 2.0",
            "encodingFormat": "application/ld+json",
            "url": base_url() + epcis_path(batch.id),
        },
    }
    if product.gtin:
        fields["gtin"] = product.gtin
    if batch.best_before:
        fields["gs1:bestBeforeDate"] = batch.best_before.isoformat()
    if batch.expires_on:
        fields["gs1:expirationDate"] = batch.expires_on.isoformat()
    if summary.origin_text:
        fields["gs1:productionLocation"] = summary.origin_text
    if summary.standards:
        fields["gs1:certificationStandard"] = list(summary.standards)
    if certificate is not None:
        fields["hasCertification"] = {
            "@type": "Certification",
            "name": f"OCOP {certificate.stars}★",
            "certificationIdentification": certificate.decision_number,
            "issuedBy": {"@type": "Organization", "name": certificate.issuing_authority},
            "expires": certificate.valid_until.isoformat(),
        }
    if summary.recalled:
        fields["additionalProperty"] = [
            _property("recalled", True),
            _property("recallReason", summary.recall_reason or ""),
        ]
    return fields


def _links(anchor: str, product: Product | None, batch_id: int | None) -> dict[str, Any]:
    """The linkset of a stamp page `/s/<code>` (GS1-valid: every link titled)."""
    links = [
        resolver.Link(
            "verificationService",
            anchor,
            _("Kiểm tra tem: chính hãng, số lần quét, mã PIN"),
            "text/html",
            resolver.PAGE_LANGUAGES,
        )
    ]
    if product is not None:
        links.append(
            resolver.Link(
                "pip", base_url() + product_path(product), product.name_vi, "text/html", ("vi",)
            )
        )
    if batch_id is not None:
        links.append(
            resolver.Link(
                "epcis",
                base_url() + epcis_path(batch_id),
                _("Sự kiện EPCIS 2.0 của lô hàng"),
                "application/ld+json",
            )
        )
    description = product.name_vi if product is not None else _("Tem Chợ Quê")
    return resolver.linkset([resolver.Level(anchor, description, tuple(links))])


def _stamp_response(
    stamp: Stamp | None,
    *,
    via: str,
    pin_form: PinForm | None = None,
    pin_result: scans.PinResult | None = None,
    status: int | None = None,
):
    """Machines' answer (JSON-LD or linkset, never counted); browsers go through
    `html_stamp_response`."""
    fmt = _format()
    view = _stamp_view(stamp, via=via)
    view.link = _canonical(stamp, via)
    db.session.commit()
    code = 404 if stamp is None else (status or 200)
    if fmt == "jsonld":
        response = _json(_stamp_jsonld(view), "application/ld+json", code)
    else:
        product = view.summary.product if view.summary else None
        batch_id = view.summary.batch.id if view.summary else None
        response = _json(_links(view.link or request.base_url, product, batch_id), LINKSET, code)
    response.headers["Cache-Control"] = NO_STORE
    return response


def _respond(
    *,
    code: str | None = None,
    stamp: Stamp | None = None,
    via: str,
    pin_form: PinForm | None = None,
    pin_result: scans.PinResult | None = None,
    status: int | None = None,
) -> Response:
    """The stamp page in the format asked for; browsers' pages never load ORM objects."""
    if _format() != "html":
        if stamp is None and code is not None:
            stamp = scans.find_by_code(code)
        return _stamp_response(
            stamp, via=via, pin_form=pin_form, pin_result=pin_result, status=status
        )
    today = i18n.local_today()
    key: dict[str, Any] = {}
    if stamp is not None:
        key["stamp_id"] = stamp.id
    elif code is not None and (normalized := normalize_code(code)) is not None:
        key["code"] = normalized
    facts = None
    if key:
        client = scans.browser_family(request.user_agent.string)
        count = (
            request.method == "GET"  # HEAD: link checkers
            and pin_form is None
            and client != "bot"  # chat apps' link previews
            and _count_allowed()
        )
        if count:  # one UPDATE … RETURNING counts the scan and reads the page's facts
            facts = scan_cache.count_scan(
                today=today,
                now=utcnow(),
                network=scans.coarse_network(request.remote_addr),
                client=client,
                via=via,
                **key,
            )
        else:
            facts = scan_cache.stamp_facts(today=today, **key)
    return html_stamp_response(
        facts, today, via=via, pin_form=pin_form, pin_result=pin_result, status=status
    )


@bp.get("/s")
def lookup():
    """A typed code (form on the 'not found' page) → its stamp page."""
    code = normalize_code(request.args.get("code"))
    if code is None:
        return _respond(via="code")
    return redirect(url_for("scan.stamp", code=code), code=303)


@bp.get("/S/<code>")  # the QR writes the URL in upper case (alphanumeric mode: a smaller QR)
@bp.get("/s/<code>")  # registered first: url_for builds the lower-case address
@limiter.limit(SCAN_PAGE_LIMIT)
def stamp(code: str):
    return _respond(code=code[:40], via="code")


@bp.post("/S/<code>/pin")
@bp.post("/s/<code>/pin")
@limiter.limit(PIN_LIMIT_PER_ADDRESS)
def pin(code: str):
    stamp = scans.find_by_code(code[:40])
    if stamp is None:
        return _respond(via="code")
    return _pin_answer(stamp, via="code")


def _pin_answer(stamp: Stamp, *, via: str) -> Response:
    form = PinForm()
    if not form.validate():
        return _respond(stamp=stamp, via=via, pin_form=form, status=422)
    if not _pin_allowed(stamp.id):
        raise TooManyRequests()
    batch = stamp.batch
    recalled = batch is not None and batch.status == BatchStatus.RECALLED
    shown = batch is not None and is_public(batch.product)
    result = scans.check_pin(stamp, form.pin.data, recalled=recalled, shown=shown)
    return _respond(stamp=stamp, via=via, pin_form=PinForm(formdata=None), pin_result=result)


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
        if request.method == "POST":
            return _pin_answer(found.stamp, via="dl")
        return _respond(stamp=found.stamp, via="dl")
    if found.batch is None or request.method == "POST":
        raise NotFound(_("Không tìm thấy lô hàng hoặc tem của đường dẫn này."))
    return _lot_response(found.batch, digital_link(base_url(), link.gtin14, link.lot))


def _lot_response(batch: Batch, anchor: str, *, jsonld: bool = False) -> Response:
    """The lot page (HTML), or for machines the lot as schema.org JSON-LD."""
    from traceability.lots.batches import trace_summary

    summary = trace_summary(batch.id)
    certificate = valid_certificate(batch.product_id)
    if jsonld:
        body: dict[str, Any] = {
            "@context": {"@vocab": "https://schema.org/", "gs1": resolver.GS1_VOC},
            "@type": "Product",
            "@id": anchor,
        }
        body.update(_lot_fields(summary, certificate))
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
            producer_address=producer_address(summary),
            lang_link=lang_link(request.path),
        )
        response = Response(html, mimetype="text/html")
        response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "no-cache"  # a recall must show at once
    return response
