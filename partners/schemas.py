"""marshmallow schemas of the partner API: `…In` rejects unknown fields, `…Out` documents the
feed records (the feed streams them; these describe them in /api/v1/openapi.json)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


class FeedQueryIn(Schema):
    class Meta:
        unknown = RAISE

    cursor = fields.String(validate=validate.Length(max=20))
    limit = fields.String(validate=validate.Length(max=7))
    updated_since = fields.String(validate=validate.Length(max=64))


class FullFeedQueryIn(Schema):
    class Meta:
        unknown = RAISE


class PlaceRefOut(Schema):
    code = fields.Integer(required=True)
    name = fields.String(required=True)


class FeedProducerOut(Schema):
    name = fields.String(required=True)
    url = fields.String(required=True)


class FeedOcopOut(Schema):
    """OCOP stars, only while the certificate is valid."""

    stars = fields.Integer(required=True)
    certificate_number = fields.String(required=True)
    valid_until = fields.Date(required=True)


class FeedVariantOut(Schema):
    id = fields.Integer(required=True)
    sku = fields.String(required=True)
    label = fields.String(required=True)
    price_vnd = fields.Integer(required=True, metadata={"description": "price in đồng"})
    weight_grams = fields.Integer(allow_none=True)
    available_units = fields.Integer(required=True)
    availability = fields.String(
        required=True,
        metadata={"openapi": {"type": "string", "enum": ["in_stock", "out_of_stock"]}},
    )


class FeedProductOut(Schema):
    """A product in a partner's feed; with `removed: true` only `id` is present (a tombstone)."""

    id = fields.Integer(required=True)
    removed = fields.Boolean(required=True)
    slug = fields.String()
    title = fields.String()
    title_en = fields.String(allow_none=True)
    description = fields.String()
    url = fields.String()
    images = fields.List(fields.String())
    category_code = fields.String(allow_none=True)
    gtin = fields.String(allow_none=True, metadata={"description": "GTIN-14, only where real"})
    producer = fields.Nested(FeedProducerOut)
    province = fields.Nested(PlaceRefOut, allow_none=True)
    commune = fields.Nested(PlaceRefOut, allow_none=True)
    ocop = fields.Nested(FeedOcopOut, allow_none=True)
    lot_code = fields.String(allow_none=True)
    trace_url = fields.String(allow_none=True)
    availability = fields.String()
    variants = fields.List(fields.Nested(FeedVariantOut))
    updated_at = fields.DateTime()


class FeedPageOut(Schema):
    items = fields.List(fields.Nested(FeedProductOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class OrderLineIn(Schema):
    class Meta:
        unknown = RAISE

    variant_id = fields.Integer(required=True, strict=True, validate=validate.Range(1, 2**31 - 1))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 1000))
    expected_price_vnd = fields.Integer(strict=True, validate=validate.Range(0, 10**12))


class OrderContactIn(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(max=120))
    phone = fields.String(required=True, validate=validate.Length(max=20))
    email = fields.String(validate=validate.Length(max=254))
    province_code = fields.Integer(required=True, strict=True, validate=validate.Range(1, 999))
    ward_code = fields.Integer(required=True, strict=True, validate=validate.Range(1, 999999))
    street = fields.String(required=True, validate=validate.Length(max=200))
    note = fields.String(validate=validate.Length(max=1000))


class OrderIn(Schema):
    class Meta:
        unknown = RAISE

    lines = fields.List(
        fields.Nested(OrderLineIn), required=True, validate=validate.Length(min=1, max=50)
    )
    contact = fields.Nested(OrderContactIn, required=True)
    payment_method = fields.String(validate=validate.OneOf(["cod", "partner"]))


class OrderPartOut(Schema):
    producer_name = fields.String(required=True)
    status = fields.String(required=True)


class OrderLineOut(Schema):
    variant_id = fields.Integer(allow_none=True)
    sku = fields.String(required=True)
    product_name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_price_vnd = fields.Integer(required=True)
    line_total_vnd = fields.Integer(required=True)


class PartnerOrderOut(Schema):
    """An order a partner placed; parts are the producers' sub-orders with their status."""

    ref = fields.String(required=True)
    payment_method = fields.String(required=True)
    subtotal_vnd = fields.Integer(required=True)
    shipping_vnd = fields.Integer(required=True)
    total_vnd = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    parts = fields.List(fields.Nested(OrderPartOut), required=True)
    lines = fields.List(fields.Nested(OrderLineOut), required=True)


SCHEMAS = (FeedPageOut, FeedProductOut, PartnerOrderOut)
