"""The consumer's side of a stamp: the scan page /s/<code>, the PIN check, and the GS1 Digital
Link resolver /01/<gtin>[/10/<lot>][/21/<serial>].

Browsers get HTML (phone-first, no JavaScript); `Accept: application/ld+json` or
`application/json` gets schema.org JSON-LD with GS1 links; `application/linkset+json` (or
`?linkType=all`) an RFC 9264 linkset. Every HTML view of a stamp is counted, so stamp pages are
`private, no-store`.
"""

from __future__ import annotations

import json
import re
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
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from limits import parse as parse_limit
from markupsafe import Markup, escape

from cooperatives.models import OcopCertificate, Product, ProductImage
from cooperatives.ocop import valid_certificate
from core import i18n
from core.db import db, utcnow
from core.errors import NotFound
from core.gs1 import digital_link
from core.images import variant_size
from core.places import address_line
from core.security import limiter
from traceability import resolver, scan_cache, scans
from traceability.models import Batch, BatchStatus, Stamp
from traceability.stamp_forms import PinForm
from traceability.stamps import grouped_code, normalize_code

bp = Blueprint("scan", __name__)

SCAN_PAGE_LIMIT = "600/minute"  # beyond this an address gets 429 (a bot hammering pages)
SCAN_COUNT_LIMIT = parse_limit("120/minute")  # beyond this pages still show but stop counting
PIN_LIMIT_PER_ADDRESS = "10/minute;50/day"
PIN_LIMIT_PER_STAMP = "5/minute;20/day"
NO_STORE = "private, no-store"
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


def _base() -> str:
    return current_app.config["PUBLIC_BASE_URL"]


def _epcis_path(batch_id: int) -> str:
    if "traceability_api.batch_epcis" in current_app.view_functions:
        return url_for("traceability_api.batch_epcis", batch_id=batch_id)
    return f"/api/v1/batches/{batch_id}/epcis"


def _verify_path(batch_id: int) -> str:
    if "traceability_api.batch_verify" in current_app.view_functions:
        return url_for("traceability_api.batch_verify", batch_id=batch_id)
    return f"/api/v1/batches/{batch_id}/verify"


def _product_path(product: Product) -> str:
    return f"/p/{product.slug}"


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


def _address(summary: Any) -> str:
    if summary is None:
        return ""
    producer = summary.producer
    return address_line(producer.street, producer.ward_code, producer.province_code)


@dataclass
class Photo:
    src: str
    width: int
    height: int
    alt: str


def _photos(product: Product | None, summary: Any) -> list[Photo]:
    photos: list[Photo] = []
    if summary is not None:
        for image in summary.images[:3]:
            w, h = variant_size(image.width, image.height, "card")
            src = url_for("core.media", key=image.key, variant="card")
            photos.append(Photo(src, w, h, _("Ảnh lô %(lot)s", lot=summary.batch.lot_code)))
    if product is not None:
        images = db.session.scalars(
            db.select(ProductImage)
            .where(ProductImage.product_id == product.id)
            .order_by(ProductImage.position, ProductImage.id)
            .limit(3)
        )
        for image in images:
            w, h = variant_size(image.width, image.height, "card")
            src = url_for("core.media", key=image.key, variant="card")
            photos.append(Photo(src, w, h, image.alt or product.name_vi))
    return photos[:4]


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
        from traceability.batches import trace_summary

        view.summary = trace_summary(batch.id)
        view.certificate = valid_certificate(batch.product_id)
    return view


def _canonical(stamp: Stamp | None, via: str) -> str:
    if stamp is None:
        return ""
    if via == "dl" and stamp.run.dl_gtin and stamp.run.dl_lot:
        return digital_link(_base(), stamp.run.dl_gtin, stamp.run.dl_lot, str(stamp.serial))
    return f"{_base()}/s/{stamp.code}"


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
    node = resolver.product_node(product, producer, _base())
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
            "url": _base() + _epcis_path(batch.id),
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
                "href": _base() + _product_path(product),
                "type": "text/html",
                "title": product.name_vi,
                "hreflang": ["vi"],
            }
        ]
    if batch_id is not None:
        links["epcis"] = [{"href": _base() + _epcis_path(batch_id), "type": "application/ld+json"}]
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
    `_html_stamp_response`."""
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


# ------------------------------------------------------------------- the page for browsers


@dataclass
class StampPage:
    """What stamp.html shows: the verdict and counts are this request's; `lot` is the cached
    lot part (None unless the stamp is active for a lot)."""

    verdict: scans.Verdict
    stamp: scan_cache.StampFacts | None = None
    tally: scans.ScanTally | None = None
    lot: scan_cache.LotFragment | None = None
    link: str = ""


def _build_fragment(facts: scan_cache.StampFacts) -> scan_cache.LotFragment:
    """Render the lot's part of the page (a cache miss: a new version of the lot)."""
    from traceability.batches import trace_summary

    summary = trace_summary(facts.batch_id)
    certificate = (
        db.session.get(OcopCertificate, facts.certificate_id) if facts.certificate_id else None
    )
    product = summary.product
    epcis_path = _epcis_path(summary.batch.id)
    lot_html = render_template(
        "traceability/scan/_lot.html",
        summary=summary,
        certificate=certificate,
        photos=_photos(product, summary),
        epcis_path=epcis_path,
        verify_path=_verify_path(summary.batch.id),
        product_path=_product_path(product),
        producer_address=_address(summary),
    )
    recall_html = render_template("traceability/scan/_recall.html", summary=summary)
    return scan_cache.LotFragment(
        batch_id=summary.batch.id,
        lot_code=summary.batch.lot_code,
        product_name=product.name_vi,
        producer_name=summary.producer.name,
        recalled=summary.recalled,
        recall_html=Markup(recall_html),  # noqa: S704 - autoescaped template output
        lot_html=Markup(lot_html),  # noqa: S704 - autoescaped template output
        epcis_path=epcis_path,
    )


def _lot_fragment(facts: scan_cache.StampFacts, today, locale: str) -> scan_cache.LotFragment:
    key = (facts.batch_id, locale)
    return scan_cache.fragments().get_or_build(
        key, facts.version(today), lambda: _build_fragment(facts)
    )


def _html_stamp_response(
    facts: scan_cache.StampFacts | None,
    today,
    *,
    via: str,
    pin_form: PinForm | None = None,
    pin_result: scans.PinResult | None = None,
    status: int | None = None,
) -> Response:
    locale = i18n.current_locale()  # once: Flask-Babel's look-up is not free
    page = StampPage(verdict=scans.Verdict.UNKNOWN, stamp=facts)
    if facts is not None:
        page.verdict = scans.verdict_from(facts.state, facts.batch_status)
        tally = scans.ScanTally(facts.scan_count, facts.first_scanned_at, facts.last_scanned_at)
        page.tally = scans.with_copy_warning(
            facts.id, tally, int(current_app.config["SCAN_COPY_WARNING_THRESHOLD"])
        )
        if via == "dl" and facts.dl_gtin and facts.dl_lot:
            page.link = digital_link(_base(), facts.dl_gtin, facts.dl_lot, str(facts.serial))
        else:
            page.link = f"{_base()}/s/{facts.code}"
    db.session.commit()  # the scan is recorded before anything slow happens
    if page.verdict in (scans.Verdict.GENUINE, scans.Verdict.RECALLED):
        page.lot = _lot_fragment(facts, today, locale)
    body = _body(page, facts, locale, pin_form=pin_form, pin_result=pin_result)
    head = Markup("")
    if page.link:
        head += Markup('  <link rel="canonical" href="{}">\n').format(page.link)
    if page.lot is not None:
        head += Markup('  <link rel="alternate" type="application/ld+json" href="{}">\n').format(
            page.lot.epcis_path
        )
    parts = PageParts(
        title=str(_TITLES[page.verdict]),
        head=head,
        lang=lang_link(request.path, locale),
        content=Markup(body),  # noqa: S704 - autoescaped template output
    )
    status = 404 if facts is None else (status or 200)
    response = Response(_render_stamp_page(parts, locale=locale), status=status)
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = NO_STORE
    return response


BODY_TEMPLATE = "traceability/scan/_stamp_body.html"
_HOLE = re.compile("\x00([a-z_]+)\x00")


def _hole(name: str) -> str:
    return f"\x00{name}\x00"


@dataclass(frozen=True)
class _Holes:
    """Stand-ins for the facts and the lot part when a body is rendered with place-holders."""

    serial: str = _hole("serial")
    producer_name: str = _hole("producer")
    lot_code: str = _hole("lot_code")
    recall_html: Markup = Markup("\x00recall_html\x00")
    lot_html: Markup = Markup("\x00lot_html\x00")


def _body_values(
    page: StampPage, facts: scan_cache.StampFacts | None, locale: str
) -> dict[str, Any]:
    """The values the body shows, computed here (the template only places them)."""
    tally = page.tally
    pin_form = facts is not None and facts.has_pin and page.verdict == scans.Verdict.GENUINE
    values: dict[str, Any] = {
        "num": tally.count if tally else 0,
        "when": i18n.local_datetime(tally.first_at) if tally and tally.first_at else "",
        "grouped": grouped_code(facts.code) if facts else "",
        "pin_action": "",
        "csrf": "",
    }
    if pin_form:
        action = url_for("scan.pin", code=facts.code)
        values["pin_action"] = action + ("?lang=en" if locale == "en" else "")
        values["csrf"] = generate_csrf()
    if facts is not None:
        values["serial"] = facts.serial
    if page.lot is not None:
        values["producer"] = page.lot.producer_name
        values["lot_code"] = page.lot.lot_code
        values["recall_html"] = page.lot.recall_html
        values["lot_html"] = page.lot.lot_html
    return values


def _render_body(page: StampPage, values: dict[str, Any], **extra: Any) -> str:
    return current_app.jinja_env.get_template(BODY_TEMPLATE).render(
        view=page,
        verdicts=scans.Verdict,
        pin_verdicts=scans.PinVerdict,
        num=values["num"],
        when=values["when"],
        grouped=values["grouped"],
        pin_action=values["pin_action"],
        csrf=values["csrf"],
        **extra,
    )


def _plural_key(count: int) -> tuple[int, bool]:
    """What ngettext's choice depends on: the catalog's plural form and n == 1 (the rule of
    the fallback when a message is missing from the catalog)."""
    plural = getattr(i18n.request_translations(), "plural", None)
    return (plural(count) if plural is not None else int(count != 1), count == 1)


def _body_pieces(page: StampPage, values: dict[str, Any]) -> tuple[str, ...]:
    """The body rendered once with a place-holder for every value, split around them:
    literal, name, literal, name, …, literal."""
    holes = _Holes()
    template_page = StampPage(
        verdict=page.verdict,
        stamp=holes if page.stamp is not None else None,  # type: ignore[arg-type]
        tally=page.tally,
        lot=holes if page.lot is not None else None,  # type: ignore[arg-type]
        link=page.link,
    )
    # an empty value stays empty: the template may test it (the PIN form, the first scan)
    shown = {name: _hole(name) if value else value for name, value in values.items()}
    html = _render_body(template_page, shown, form=PinForm(formdata=None), pin_result=None)
    return tuple(_HOLE.split(html))


def _body(
    page: StampPage,
    facts: scan_cache.StampFacts | None,
    locale: str,
    *,
    pin_form: PinForm | None,
    pin_result: scans.PinResult | None,
) -> str:
    """The request's part of the page. A plain scan fills the escaped values into pieces cut
    once per kind of page (verdict, warnings, counts' wording, PIN form, locale); a page with
    a PIN posted is rendered in full."""
    values = _body_values(page, facts, locale)
    if pin_form is not None or pin_result is not None or current_app.jinja_env.auto_reload:
        return _render_body(page, values, form=pin_form or PinForm(), pin_result=pin_result)
    tally = page.tally
    key = (
        "body",
        locale,
        page.verdict,
        page.stamp is not None,
        page.lot is not None,
        tuple(bool(value) for value in values.values()),
        tally.copy_warning if tally else False,
        _plural_key(tally.count) if tally else None,
    )
    pieces = scan_cache.fragments().get_or_build(key, "", lambda: _body_pieces(page, values))
    out = list(pieces)
    for index in range(1, len(out), 2):
        out[index] = str(escape(values[out[index]]))
    return "".join(out)


_TITLES = {
    scans.Verdict.GENUINE: _l("Tem chính hãng"),
    scans.Verdict.RECALLED: _l("Lô hàng đã bị thu hồi"),
    scans.Verdict.NOT_ACTIVATED: _l("Tem chưa được kích hoạt"),
    scans.Verdict.VOID: _l("Tem đã bị hủy"),
    scans.Verdict.UNKNOWN: _l("Mã không có trong hệ thống"),
}


def lang_link(path: str, locale: str | None = None) -> Markup:
    """The one language switch of scan and lot pages: a plain link (?lang=), no form."""
    if (locale or i18n.current_locale()) == "vi":
        return Markup(
            '<a class="scan-lang" href="{}?lang=en" hreflang="en" lang="en" rel="alternate">'
            "English</a>"
        ).format(path)
    return Markup(
        '<a class="scan-lang" href="{}?lang=vi" hreflang="vi" lang="vi" rel="alternate">'
        "Tiếng Việt</a>"
    ).format(path)


@dataclass(frozen=True)
class PageParts:
    """The request's own parts of stamp.html; the rest is base.html's chrome."""

    title: str
    head: Markup
    lang: Markup
    content: Markup


_SENTINELS = PageParts(
    title="\x00scan-title\x00",
    head=Markup("\x00scan-head\x00"),
    lang=Markup("\x00scan-lang\x00"),
    content=Markup("\x00scan-content\x00"),
)


def _chrome_allowed() -> bool:
    """base.html around a scan page depends only on the locale for a visitor without session
    (no cookie but the language one, not signed in); templates reloading: no cache."""
    if current_app.jinja_env.auto_reload:
        return False
    if any(name != "lang" for name in request.cookies):
        return False
    if getattr(current_app.login_manager, "_request_callback", None) is None:
        return True  # no session cookie, no remember cookie, no request loader: anonymous
    return not current_user.is_authenticated


def _chrome(locale: str) -> tuple[str, ...] | None:
    """base.html rendered once per locale around place-holders, cut into its pieces."""
    return scan_cache.fragments().get_or_build(("chrome", locale), "", lambda: _cut_chrome())


def _cut_chrome() -> tuple[str, ...] | None:
    html = render_template("traceability/scan/stamp.html", parts=_SENTINELS)
    pieces: list[str] = []
    for sentinel in (_SENTINELS.title, _SENTINELS.head, _SENTINELS.lang, _SENTINELS.content):
        before, found, html = html.partition(str(sentinel))
        if not found or sentinel in html:
            return None  # a place-holder missing or repeated: render in full every time
        pieces.append(before)
    pieces.append(html)
    return tuple(pieces)


def _render_stamp_page(
    parts: PageParts, *, chrome: bool | None = None, locale: str | None = None
) -> str:
    if chrome is None:
        chrome = _chrome_allowed()
    pieces = _chrome(locale or i18n.current_locale()) if chrome else None
    if pieces is None:
        return render_template("traceability/scan/stamp.html", parts=parts)
    return "".join(
        (
            pieces[0],
            str(escape(parts.title)),
            pieces[1],
            parts.head,
            pieces[2],
            parts.lang,
            pieces[3],
            parts.content,
            pieces[4],
        )
    )


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
    return _html_stamp_response(
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
        return _lot_response(lot_batch, digital_link(_base(), link.gtin14, link.lot))
    return _gtin_response(found, link.gtin14)


def _see_other(path: str) -> Response:
    response = redirect(path, code=303)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _lot_response(batch: Batch, anchor: str) -> Response:
    from traceability.batches import trace_summary

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
            photos=_photos(summary.product, summary),
            epcis_path=_epcis_path(batch.id),
            verify_path=_verify_path(batch.id),
            product_path=_product_path(summary.product),
            producer_address=_address(summary),
            lang_link=lang_link(request.path),
        )
        response = Response(html, mimetype="text/html")
        response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "no-cache"  # a recall must show at once
    return response


def _gtin_response(found: resolver.Resolution, gtin14: str) -> Response:
    product = found.product
    anchor = digital_link(_base(), gtin14)
    fmt = _format()
    if fmt == "jsonld" and product is not None:
        body = {"@context": "https://schema.org/"}
        body.update(resolver.product_node(product, product.producer, _base()))
        return _json(body, "application/ld+json")
    if fmt == "linkset":
        return _json(_links(anchor, product, None), LINKSET)
    if product is None:
        raise NotFound(_("Sản phẩm mang mã GTIN %(gtin)s không còn được bán.", gtin=gtin14))
    return _see_other(_product_path(product))
