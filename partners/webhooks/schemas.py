"""marshmallow schemas of the webhook delivery log in the partner API."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


class DeliveryQueryIn(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf(["pending", "delivered", "failed"]))
    before = fields.String(validate=validate.Length(max=12))
    limit = fields.String(validate=validate.Length(max=4))


class WebhookDeliveryOut(Schema):
    """One event sent (or to be sent) to one of the partner's endpoints."""

    id = fields.Integer(required=True)
    webhook_id = fields.String(required=True, metadata={"description": "the webhook-id header"})
    event = fields.String(required=True)
    subject_id = fields.Integer(allow_none=True)
    status = fields.String(
        required=True,
        metadata={"openapi": {"type": "string", "enum": ["pending", "delivered", "failed"]}},
    )
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status = fields.Integer(allow_none=True)
    last_response = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    delivered_at = fields.DateTime(allow_none=True)


class WebhookDeliveryPageOut(Schema):
    items = fields.List(fields.Nested(WebhookDeliveryOut), required=True)
    next_before = fields.Integer(allow_none=True, required=True)
