"""JSON API of lots: the batch, its EPCIS 2.0 document and its hash-chain check.

Trace data is meant to be shared (Circular 02/2024): a lot of a product that is, or was, on
sale (published or archived) is public; a lot of a draft product is visible only to members of
its producer. Unknown and hidden lots alike answer 404 problem+json.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, url_for
from flask_login import current_user

from core.errors import NotFound
from core.gs1 import digital_link
from core.urls import public_url
from traceability.lots import epcis
from traceability.lots.batches import readable_batch
from traceability.lots.chain import verify_chain
from traceability.lots.schemas import BatchOut, ChainReportOut
from traceability.lots.summary import trace_summary as summary_of

bp = Blueprint("traceability_api", __name__)
MAX_ID = 2**31 - 1  # larger ids cannot exist; the databases would refuse to compare them


@bp.url_value_preprocessor
def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    for value in (values or {}).values():
        if isinstance(value, int) and value > MAX_ID:
            raise NotFound()


def _cache(response: Response, public: bool) -> Response:
    # Recalls must show at once: shared caches may keep a public lot only briefly.
    response.headers["Cache-Control"] = "public, max-age=60" if public else "private, no-store"
    response.headers["Vary"] = "Cookie"
    return response


@bp.get("/api/v1/batches/<int:batch_id>")
def batch_json(batch_id: int):
    batch, member = readable_batch(batch_id, current_user)
    summary = summary_of(batch.id)
    product, producer = summary.product, summary.producer
    body: dict[str, Any] = {
        "id": batch.id,
        "lot_code": batch.lot_code,
        "identifier": epcis.lot_uri(batch, product),
        "product": {
            "id": product.id,
            "name": product.name_vi,
            "gtin": product.gtin,
            "digital_link": digital_link(public_url(), product.gtin, lot=batch.lot_code)
            if product.gtin
            else None,
        },
        "producer": producer,
        "produced_on": batch.produced_on,
        "best_before": batch.best_before,
        "expires_on": batch.expires_on,
        "quantity": format(batch.quantity.normalize(), "f"),
        "unit": batch.unit,
        "origin": {
            "text": summary.origin_text,
            "ward_code": batch.origin_ward_code,
            "province_code": batch.origin_province_code,
            "latitude": str(batch.latitude) if batch.latitude is not None else None,
            "longitude": str(batch.longitude) if batch.longitude is not None else None,
        },
        "standards": list(batch.standards or []),
        "inputs_used": batch.inputs_used,
        "status": batch.status,
        "recall": {
            "reason": batch.recall_reason,
            "recalled_at": batch.recalled_at,
            "origin_batch_id": batch.recall_origin_id,
        }
        if summary.recalled
        else None,
        "parents": summary.parents,
        "children": summary.children,
        "events": summary.events,
        "chain_head": batch.chain_head,
        "links": {
            "epcis": url_for(".batch_epcis", batch_id=batch.id, _external=False),
            "verify": url_for(".batch_verify", batch_id=batch.id, _external=False),
        },
    }
    if member:
        body["notes"] = batch.notes
    body = BatchOut().dump(body)
    return _cache(jsonify(body), public=not member)


@bp.get("/api/v1/batches/<int:batch_id>/epcis")
def batch_epcis(batch_id: int):
    batch, member = readable_batch(batch_id, current_user)
    document = epcis.epcis_document(batch.id)
    response = Response(
        json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        mimetype=epcis.MEDIA_TYPE,
    )
    response.headers["Content-Disposition"] = f'inline; filename="epcis-lot-{batch.id}.jsonld"'
    return _cache(response, public=not member)


@bp.get("/api/v1/batches/<int:batch_id>/verify")
def batch_verify(batch_id: int):
    batch, member = readable_batch(batch_id, current_user)
    report = verify_chain(batch.id)
    response = jsonify(ChainReportOut().dump(report.as_dict()))
    response.headers["Cache-Control"] = "no-store"
    return response
