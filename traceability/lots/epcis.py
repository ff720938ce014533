"""EPCIS 2.0 (JSON-LD) export of a lot's trace events.

Identifiers: a product with a GTIN names its lot as a GS1 Digital Link class-level URI
(`{base}/01/{gtin14}/10/{lot}`); without a GTIN the platform's own URI
(`{base}/id/producer/{id}/lot/{lot}`). Places are `{base}/id/ward/{code}` (2025 commune codes),
named in the document's master data. Lot attributes go in `ilmd` on ADD and Transformation events
only. Fields CBV lacks use the `choque:` namespace declared in the document's @context.
See docs/traceability.md for the mapping of each event kind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from cooperatives.models import Product
from core.db import db, utcnow
from core.errors import NotFound
from core.gs1 import digital_link
from core.places import province, ward
from core.urls import public_url
from traceability.lots.batches import origin_line
from traceability.lots.chain import utc_iso
from traceability.lots.event_kinds import EXT, UNITS, EventKind, local_event_time
from traceability.models import Batch, BatchInput, TraceEvent

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
MEDIA_TYPE = "application/ld+json"
MDA_NAME = "urn:epcglobal:cbv:mda#name"
VTYPE_LOCATION = "urn:epcglobal:epcis:vtype:BusinessLocation"
VTYPE_CLASS = "urn:epcglobal:epcis:vtype:EPCClass"
# Detail keys exported as extension fields, with their JSON-LD names.
_DETAIL_FIELDS = {
    "crop": "crop",
    "area": "area",
    "inputs": "inputs",
    "result": "inspectionResult",
    "inspector": "inspector",
    "packaging": "packaging",
    "destination": "destination",
    "carrier": "carrier",
    "source": "source",
    "note": "note",
    "reason": "reason",
}


def extension_namespace() -> str:
    return f"{public_url()}/ns/epcis/"


def lot_uri(batch: Batch, product: Product) -> str:
    """The class-level identifier of a lot."""
    if product.gtin:
        return digital_link(public_url(), product.gtin, lot=batch.lot_code)
    return f"{public_url()}/id/producer/{batch.producer_id}/lot/{quote(batch.lot_code, safe='')}"


def place_uri(ward_code: int) -> str:
    return f"{public_url()}/id/ward/{ward_code}"


def _number(value: str | Decimal) -> int | float:
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def _quantity(epc_class: str, quantity: Any, unit: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"epcClass": epc_class}
    if quantity not in (None, ""):
        element["quantity"] = _number(quantity)
        uom = UNITS.get(unit or "")
        if uom:
            element["uom"] = uom
    return element


def _ilmd(batch: Batch) -> dict[str, Any]:
    ilmd: dict[str, Any] = {
        "cbvmda:lotNumber": batch.lot_code,
        "cbvmda:productionDate": batch.produced_on.isoformat(),
        "cbvmda:countryOfOrigin": "VN",
    }
    if batch.best_before:
        ilmd["cbvmda:bestBeforeDate"] = batch.best_before.isoformat()
    if batch.expires_on:
        ilmd["cbvmda:itemExpirationDate"] = batch.expires_on.isoformat()
    if batch.standards:
        ilmd[f"{EXT}:standards"] = list(batch.standards)
    origin = origin_line(batch)
    if origin:
        ilmd[f"{EXT}:origin"] = origin
    if batch.inputs_used:
        ilmd[f"{EXT}:inputsUsed"] = batch.inputs_used
    if batch.latitude is not None and batch.longitude is not None:
        ilmd[f"{EXT}:geo"] = f"geo:{batch.latitude},{batch.longitude}"
    return ilmd


def _place_name(code: int) -> str:
    place = ward(code)
    if place is None:
        return str(code)
    region = province(place.province_code)
    return f"{place.name}, {region.name}" if region else place.name


def epcis_document(batch_id: int) -> dict[str, Any]:  # noqa: C901 - optional EPCIS fields, one test each
    """The EPCISDocument of one lot: every event of its chain, corrections declared."""
    row = db.session.execute(
        select(Batch, Product)
        .join(Product, Product.id == Batch.product_id)
        .where(Batch.id == batch_id)
    ).first()
    if row is None:
        raise NotFound()
    batch, product = row
    events = list(
        db.session.scalars(
            select(TraceEvent).where(TraceEvent.batch_id == batch.id).order_by(TraceEvent.seq)
        )
    )
    parent_rows = db.session.execute(
        select(Batch, Product, BatchInput)
        .join(BatchInput, BatchInput.parent_id == Batch.id)
        .join(Product, Product.id == Batch.product_id)
        .where(BatchInput.child_id == batch.id)
    ).all()
    parent_uris = {b.id: lot_uri(b, p) for b, p, _link in parent_rows}
    own_uri = lot_uri(batch, product)

    corrections: dict[int, TraceEvent] = {}
    for event in events:
        if event.corrects_event_id is not None:
            corrections[event.corrects_event_id] = event

    places: set[int] = set()
    body: list[dict[str, Any]] = []
    for event in events:
        if event.kind == EventKind.CORRECTION:
            continue  # a retraction is declared on the event it retracts
        item = _event(event, batch, own_uri, parent_uris)
        if event.location_ward_code:
            places.add(event.location_ward_code)
        correction = corrections.get(event.id)
        if correction is not None:
            declaration: dict[str, Any] = {"declarationTime": utc_iso(correction.recorded_at)}
            if correction.kind == EventKind.CORRECTION:
                declaration["reason"] = "did_not_occur"
            else:
                declaration["reason"] = "incorrect_data"
                declaration["correctiveEventIDs"] = [f"urn:uuid:{correction.event_uuid}"]
            reason = (correction.details or {}).get("reason")
            if reason:
                declaration[f"{EXT}:reason"] = reason
            item["errorDeclaration"] = declaration
        body.append(item)

    classes = [{"id": own_uri, "attributes": [{"id": MDA_NAME, "attribute": product.name_vi}]}]
    for parent, parent_product, _link in parent_rows:
        classes.append(
            {
                "id": parent_uris[parent.id],
                "attributes": [{"id": MDA_NAME, "attribute": parent_product.name_vi}],
            }
        )
    vocabularies: list[dict[str, Any]] = [{"type": VTYPE_CLASS, "vocabularyElementList": classes}]
    if places:
        vocabularies.append(
            {
                "type": VTYPE_LOCATION,
                "vocabularyElementList": [
                    {
                        "id": place_uri(code),
                        "attributes": [{"id": MDA_NAME, "attribute": _place_name(code)}],
                    }
                    for code in sorted(places)
                ],
            }
        )
    document: dict[str, Any] = {
        "@context": [EPCIS_CONTEXT, {EXT: extension_namespace()}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": utc_iso(utcnow()),
        "epcisHeader": {"epcisMasterData": {"vocabularyList": vocabularies}},
        "epcisBody": {"eventList": body},
    }
    if batch.chain_head:
        document[f"{EXT}:chainHead"] = batch.chain_head
    return document


def _event(  # noqa: C901 - optional EPCIS fields, one test each
    event: TraceEvent, batch: Batch, own_uri: str, parent_uris: dict[int, str]
) -> dict[str, Any]:
    details = dict(event.details or {})
    quantity = details.get("quantity")
    unit = details.get("unit") if quantity else None
    if quantity is None and event.kind != EventKind.RECALLING:
        quantity, unit = batch.quantity, batch.unit
    item: dict[str, Any] = {
        "type": event.event_type,
        "eventID": f"urn:uuid:{event.event_uuid}",
        "eventTime": local_event_time(event).isoformat(),
        "eventTimeZoneOffset": event.event_tz_offset,
        "recordTime": utc_iso(event.recorded_at),
    }
    if event.event_type == "TransformationEvent":
        inputs = []
        for parent in details.get("parents") or []:
            uri = parent_uris.get(parent.get("batch_id"))
            if uri:
                inputs.append(_quantity(uri, parent.get("quantity"), parent.get("unit")))
        if inputs:
            item["inputQuantityList"] = inputs
        item["outputQuantityList"] = [_quantity(own_uri, quantity, unit)]
    else:
        item["action"] = event.action
        item["quantityList"] = [_quantity(own_uri, quantity, unit)]
    item["bizStep"] = event.biz_step
    if event.disposition:
        item["disposition"] = event.disposition
    if event.location_ward_code:
        item["bizLocation"] = {"id": place_uri(event.location_ward_code)}
    if event.action == "ADD" or event.event_type == "TransformationEvent":
        item["ilmd"] = _ilmd(batch)
    item[f"{EXT}:kind"] = event.kind
    item[f"{EXT}:seq"] = event.seq
    item[f"{EXT}:hash"] = event.hash
    if event.prev_hash:
        item[f"{EXT}:prevHash"] = event.prev_hash
    if event.location_text:
        item[f"{EXT}:place"] = event.location_text
    for key, name in _DETAIL_FIELDS.items():
        value = details.get(key)
        if value:
            item[f"{EXT}:{name}"] = value
    if details.get("origin_batch_id"):
        item[f"{EXT}:recallOrigin"] = details.get("origin_lot_code", "")
    if details.get("time_known") is False:
        item[f"{EXT}:timeKnown"] = False
    return item
