"""Marshmallow `…Out` schemas of the lots API: the views dump with them and the OpenAPI
description is generated from them (core.openapi), so the two cannot drift apart."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_dump


class ProductRefOut(Schema):
    """The product a lot is of."""

    id = fields.Integer()
    name = fields.String()
    gtin = fields.String(allow_none=True)
    digital_link = fields.String(allow_none=True, metadata={"description": "GS1 Digital Link"})


class ProducerRefOut(Schema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()


class OriginOut(Schema):
    """Where the lot comes from (ward codes of the 2025 administrative units)."""

    text = fields.String()
    ward_code = fields.Integer(allow_none=True)
    province_code = fields.Integer(allow_none=True)
    latitude = fields.String(allow_none=True)
    longitude = fields.String(allow_none=True)


class RecallOut(Schema):
    reason = fields.String(allow_none=True)
    recalled_at = fields.DateTime(allow_none=True)
    origin_batch_id = fields.Integer(
        allow_none=True, metadata={"description": "the lot whose recall reached this one"}
    )


class LotRefOut(Schema):
    """A parent or child lot; quantity and unit only when recorded for the link."""

    id = fields.Integer()
    lot_code = fields.String()
    product = fields.String(attribute="product_name")
    produced_on = fields.Date()
    status = fields.String()
    quantity = fields.Method("_quantity", metadata={"openapi": {"type": "string"}})
    unit = fields.String(allow_none=True)

    def _quantity(self, ref: Any) -> str | None:
        return format(ref.quantity.normalize(), "f") if ref.quantity is not None else None

    @post_dump
    def _without_quantity(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data.get("quantity") is None:
            data.pop("quantity", None)
            data.pop("unit", None)
        return data


class EventOut(Schema):
    """One trace event, in its own time-zone offset, with its place in the hash chain."""

    id = fields.Integer()
    seq = fields.Integer()
    kind = fields.String()
    label = fields.String()
    event_time = fields.DateTime(attribute="local_time")
    time_known = fields.Boolean()
    location = fields.String(attribute="location_text")
    location_ward_code = fields.Integer(allow_none=True)
    biz_step = fields.String()
    disposition = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "current, corrected or retracted"})
    corrects_event_id = fields.Integer(allow_none=True)
    superseded_by_id = fields.Integer(allow_none=True)
    details = fields.Method("_details", metadata={"openapi": {"type": "object"}})
    hash = fields.String()

    def _details(self, entry: Any) -> dict[str, Any]:
        return {k: v for k, v in entry.details.items() if k != "time_known"}


class BatchLinksOut(Schema):
    epcis = fields.String()
    verify = fields.String()


class BatchOut(Schema):
    """A lot: product, producer, origin, standards, lineage, events and chain head. `notes`
    only for members of the producer."""

    id = fields.Integer()
    lot_code = fields.String()
    identifier = fields.String(metadata={"description": "the lot's EPC/Digital Link URI"})
    product = fields.Nested(ProductRefOut)
    producer = fields.Nested(ProducerRefOut)
    produced_on = fields.Date()
    best_before = fields.Date(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    quantity = fields.String()
    unit = fields.String()
    origin = fields.Nested(OriginOut)
    standards = fields.List(fields.String())
    inputs_used = fields.String()
    status = fields.String()
    recall = fields.Nested(RecallOut, allow_none=True)
    parents = fields.List(fields.Nested(LotRefOut))
    children = fields.List(fields.Nested(LotRefOut))
    events = fields.List(fields.Nested(EventOut))
    chain_head = fields.String(allow_none=True)
    links = fields.Nested(BatchLinksOut)
    notes = fields.String()


class BrokenLinkOut(Schema):
    event_id = fields.Integer(allow_none=True)
    seq = fields.Integer(allow_none=True)
    problem = fields.String()
    expected = fields.String(allow_none=True)
    found = fields.String(allow_none=True)


class ChainReportOut(Schema):
    """The lot's hash chain recomputed; `broken` names the first link that does not hold."""

    batch_id = fields.Integer()
    lot_code = fields.String()
    ok = fields.Boolean()
    events = fields.Integer()
    chain_head = fields.String(allow_none=True)
    message = fields.String()
    broken = fields.Nested(BrokenLinkOut)


SCHEMAS = (BatchOut, ChainReportOut)
