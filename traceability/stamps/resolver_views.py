"""The GS1-Conformant resolver (GS1 standard 1.0, 2024): `/01/<gtin>[/22/…][/10/…][/21/…]`,
compressed Digital Links `/<data>`, the description file `/.well-known/gs1resolver` and the JSON-LD
context of its linksets. CORS (any origin; GET, HEAD, OPTIONS) on these answers only.

A browser or an app without other wishes is redirected (303, absolute `Location`, the query
string passed on) to the default link: the product page for a GTIN, the lot page `/t/…` for a
lot, the stamp page `/t/…` for a serial. `?linkType=linkset` (or `all`, or `Accept:
application/linkset+json`) answers the linkset of every level up to the GTIN; `?linkType=gs1:<type>`
redirects to that link, 404 when there is none; `Accept: application/ld+json` answers schema.org
JSON-LD. Every answer carries `Link: <…?linkType=linkset>; rel="linkset"`; a compressed link also
`Link: <uncompressed>; rel="owl:sameAs"` and is answered in place (never redirected to its
uncompressed form).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, request
from flask_babel import gettext as _
from werkzeug.routing import BaseConverter

from core.errors import NotFound
from core.gs1_compression import CompressionError, decompress
from core.security import limiter
from core.urls import public_url
from traceability.stamps import public_views, resolver
from traceability.stamps.scan_page import epcis_path, product_path

bp = Blueprint("resolver", __name__)

DESCRIPTION_PATH = "/.well-known/gs1resolver"
CONTEXT_PATH = "/gs1/linkset-context.jsonld"
JSONLD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
LINKSET = resolver.LINKSET_TYPE
CORS_METHODS = "GET, HEAD, OPTIONS"


class CompressedLinkConverter(BaseConverter):
    """One path segment of URI-safe Base64: a compressed GS1 Digital Link (static routes such
    as /search always win over it)."""

    regex = r"[A-Za-z0-9_\-]{8,400}"


@bp.record_once
def _register_converter(state: Any) -> None:
    state.app.url_map.converters["gs1compressed"] = CompressedLinkConverter


@bp.after_request
def _cors(response: Response) -> Response:
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Allow-Methods"] = CORS_METHODS
    asked = request.headers.get("Access-Control-Request-Headers", "")[:500]
    headers["Access-Control-Allow-Headers"] = asked or "Accept, Accept-Language"
    headers["Access-Control-Expose-Headers"] = "Link, Location, Content-Type"
    headers["Access-Control-Max-Age"] = "86400"
    return response


# ------------------------------------------------------------------------------- answers


def _with_query(target: str, query: str) -> str:
    if not query:
        return target
    return target + ("&" if "?" in target else "?") + query


def _link_header(response: Response, values: list[str]) -> Response:
    if values:
        response.headers["Link"] = ", ".join(values)
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


def _see_other(target: str, links: list[str]) -> Response:
    response = Response(status=303)
    response.headers["Location"] = target
    response.headers["Cache-Control"] = "no-cache"
    return _link_header(response, links)


def _levels(found: resolver.Resolved) -> list[resolver.Level]:
    batch = found.batch
    return resolver.levels(
        found,
        public_url(),
        product_path(found.product),
        epcis_path(batch.id) if batch is not None else None,
    )


def _answer(
    link: resolver.DigitalLink,
    pairs: list[tuple[str, str]],
    query: str,
    same_as: str | None = None,
) -> Response:
    """The resolver's answer for a parsed link; `pairs` are the query's key=value pairs and
    `query` the query string passed on when redirecting."""
    found = resolver.resolve(link)
    if found is None:
        raise NotFound(_("Mã GTIN %(gtin)s không có trong hệ thống.", gtin=link.gtin14))
    links = [f'<{same_as}>; rel="owl:sameAs"'] if same_as else []
    if found.up is not None:  # unknown lot or serial: one level up, the query kept
        up = public_url(found.up)
        links.append(f'<{up}?linkType=linkset>; rel="linkset"; type="{LINKSET}"')
        return _see_other(_with_query(up, query), links)
    anchor = public_url(link.path())
    links.append(f'<{anchor}?linkType=linkset>; rel="linkset"; type="{LINKSET}"')
    link_type = next((value for key, value in pairs if key == "linkType"), None)
    fmt = public_views._format()
    if link_type in ("linkset", "all") or (link_type is None and fmt == "linkset"):
        body = resolver.linkset(_levels(found))
        response = Response(
            json.dumps(body, ensure_ascii=False, separators=(",", ":")), mimetype=LINKSET
        )
        links.append(
            f'<{public_url(CONTEXT_PATH)}>; rel="{JSONLD_CONTEXT_REL}"; type="application/ld+json"'
        )
        response.headers["Cache-Control"] = "no-cache"
        return _link_header(response, links)
    if link_type is not None:
        term = resolver.link_type_term(link_type)
        target = resolver.find_link(_levels(found), term) if term else None
        if target is None:
            raise NotFound(
                _("Mã này không có liên kết loại %(type)s.", type=link_type[:60]),
                code="link_type_not_available",
            )
        passed = urlencode([(key, value) for key, value in pairs if key != "linkType"])
        return _see_other(_with_query(target.href, passed), links)
    if fmt == "jsonld":
        return _link_header(_jsonld(found, anchor), links)
    default = public_url(resolver.default_path(found, product_path(found.product)))
    return _see_other(_with_query(default, query), links)


def _jsonld(found: resolver.Resolved, anchor: str) -> Response:
    if found.stamp is not None:  # the one scan path (a machine's read is never counted)
        reading = public_views._read("jsonld", via="dl", stamp_id=found.stamp.id)
        return public_views._respond(reading, "jsonld")
    if found.batch is not None:
        return public_views._lot_response(found.batch, anchor, jsonld=True)
    product = found.product
    body: dict[str, Any] = {"@context": "https://schema.org/"}
    body.update(resolver.product_node(product, product.producer, public_url()))
    response = public_views._json(body, "application/ld+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


# -------------------------------------------------------------------------------- routes


@bp.get("/01/<path:rest>")
@limiter.limit(public_views.SCAN_PAGE_LIMIT)
def digital_link_page(rest: str):
    link = resolver.parse(public_views._raw_path(), request.args)
    pairs = list(request.args.items(multi=True))
    return _answer(link, pairs, request.query_string.decode("latin-1"))


@bp.get("/<gs1compressed:data>")
@limiter.limit(public_views.SCAN_PAGE_LIMIT)
def compressed_link(data: str):
    """A compressed Digital Link, answered as its uncompressed form would be."""
    try:
        decoded = decompress(data)
    except CompressionError:
        abort(404)
    if "01" not in dict(decoded.elements):
        abort(404)  # a Digital Link of a key this resolver does not serve (SSCC, GLN…)
    path, attributes = resolver.uncompressed(decoded)
    pairs = attributes + list(request.args.items(multi=True))
    query = urlencode(pairs)
    link = resolver.parse(path, dict(pairs))
    same_as = _with_query(public_url(path), urlencode(attributes))
    return _answer(link, pairs, query, same_as=same_as)


@bp.get(DESCRIPTION_PATH)
def description_file():
    """The resolver description file (GS1-Conformant Resolver standard)."""
    root = public_url()
    body = {
        "name": "Chợ Quê — GS1 Digital Link resolver",
        "resolverRoot": root,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [
            {
                "namespace": resolver.GS1_VOC,
                "prefix": "gs1:",
                "profile": resolver.GS1_VOC + "?show=linktypes",
            }
        ],
        "supportedLinkTypes": ["gs1:" + term for term in resolver.LINK_TYPES],
        "linkTypeDefaultCanBeLinkset": False,
        "supportedContextValuesEnumerated": [],
        "jsonLdContextLocation": root + CONTEXT_PATH,
    }
    response = Response(json.dumps(body, ensure_ascii=False, indent=1), mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get(CONTEXT_PATH)
def linkset_context():
    """GS1's JSON-LD context for linksets (Apache-2.0, copied unchanged into static/gs1/)."""
    path = current_app.static_folder + "/gs1/linkset-context.jsonld"  # type: ignore[operator]
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    response = Response(text, mimetype="application/ld+json")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
