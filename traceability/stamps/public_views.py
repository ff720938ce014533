"""The consumer's side of a stamp: the scan page /s/<code>, the PIN check, and the GS1 Digital
Link resolver /01/<gtin>[/10/<lot>][/21/<serial>].

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

from cooperatives.models import OcopCertificate, Product
from cooperatives.ocop import valid_certificate
from core import i18n
from core.db import db, utcnow
from core.errors import PROBLEM_JSON, NotFound
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
PIN_LIMIT_PER_STAMP = "5/minute;20/day"
LINKSET = resolver.LINKSET_TYPE


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
        return digital_link(base_url(), stamp.run.dl_gtin, stamp.run.dl_lot, str(stamp.serial))
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
    body["@id"] = view.link
    body["serialNumber"] = str(stamp.serial)
    body["identifier"] = stamp.code
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
    links: dict[str, list[dict[str, Any]]] = {
        "defaultLink": [{"href": anchor, "type": "text/html", "hreflang": ["vi", "en"]}]
    }
    if product is not None:
        links["pip"] = [
            {
                "href": base_url() + product_path(product),
                "type": "text/html",
                "title": product.name_vi,
                "hreflang": ["vi"],
            }
        ]
    if batch_id is not None:
        links["epcis"] = [
            {"href": base_url() + epcis_path(batch_id), "type": "application/ld+json"}
        ]
        links["traceability"] = [{"href": anchor, "type": "text/html"}]
    return resolver.linkset(anchor, links)


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
@limiter.limit(PIN_LIMIT_PER_STAMP, key_func=_pin_stamp_key)
def pin(code: str):
    stamp = scans.find_by_code(code[:40])
    form = PinForm()
    if stamp is None:
        return _respond(via="code")
    if not form.validate():
        return _respond(stamp=stamp, via="code", pin_form=form, status=422)
    recalled = stamp.batch is not None and stamp.batch.status == BatchStatus.RECALLED
    result = scans.check_pin(stamp, form.pin.data, recalled=recalled)
    return _respond(stamp=stamp, via="code", pin_form=PinForm(formdata=None), pin_result=result)


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
        stamp = scans.find_by_digital_link(link.gtin14, link.serial, link.lot)
        if stamp is None:
            target = digital_link("", link.gtin14, link.lot) if lot_batch else gtin_path
            return _see_other(target)
        return _respond(stamp=stamp, via="dl")
    if link.lot is not None:
        if lot_batch is None:
            return _see_other(gtin_path)
        return _lot_response(lot_batch, digital_link(base_url(), link.gtin14, link.lot))
    return _gtin_response(found, link.gtin14)


def _see_other(path: str) -> Response:
    response = redirect(path, code=303)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _lot_response(batch: Batch, anchor: str) -> Response:
    from traceability.lots.batches import trace_summary

    summary = trace_summary(batch.id)
    certificate = valid_certificate(batch.product_id)
    fmt = _format()
    if fmt == "jsonld":
        body: dict[str, Any] = {
            "@context": {"@vocab": "https://schema.org/", "gs1": resolver.GS1_VOC},
            "@type": "Product",
            "@id": anchor,
        }
        body.update(_lot_fields(summary, certificate))
        response = _json(body, "application/ld+json")
    elif fmt == "linkset":
        response = _json(_links(anchor, summary.product, batch.id), LINKSET)
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


def _gtin_response(found: resolver.Resolution, gtin14: str) -> Response:
    product = found.product
    anchor = digital_link(base_url(), gtin14)
    fmt = _format()
    if fmt == "jsonld" and product is not None:
        body = {"@context": "https://schema.org/"}
        body.update(resolver.product_node(product, product.producer, base_url()))
        return _json(body, "application/ld+json")
    if fmt == "linkset":
        return _json(_links(anchor, product, None), LINKSET)
    if product is None:
        raise NotFound(_("Sản phẩm mang mã GTIN %(gtin)s không còn được bán.", gtin=gtin14))
    return _see_other(product_path(product))
