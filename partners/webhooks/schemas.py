"""marshmallow schemas of the webhook delivery log in the partner API."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from partners.webhooks import EVENTS


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


URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+"


class WebhookEndpointIn(Schema):
    """Where to send events: a public http(s) address (loopback, private, link-local,
    multicast and reserved addresses are refused, after DNS resolution, also when sending)."""

    class Meta:
        unknown = RAISE

    url = fields.String(
        required=True,
        validate=[validate.Length(min=10, max=500), validate.Regexp(URL_PATTERN)],
    )
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENTS)),
        validate=validate.Length(max=len(EVENTS)),
        metadata={"description": "the events sent there; empty or absent: every event"},
    )


class WebhookEndpointOut(Schema):
    """One of the partner's endpoints (its secret is shown only when it is created or
    rotated)."""

    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(
        fields.String(metadata={"openapi": {"type": "string", "enum": list(EVENTS)}}),
        required=True,
        metadata={"description": "empty: every event"},
    )
    active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    previous_secret_expires_at = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "after a rotation, until when the previous secret signs too "
            "(null: only the current secret signs)"
        },
    )


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    """A new endpoint and its signing secret (`whsec_…`), shown this once."""

    secret = fields.String(required=True)


class WebhookSecretRotatedOut(WebhookEndpointOut):
    """The endpoint's new signing secret (`whsec_…`), shown this once. Until
    `previous_secret_expires_at` every delivery carries two signatures in webhook-signature,
    one with the new secret and one with the previous."""

    secret = fields.String(required=True)


class WebhookEndpointListOut(Schema):
    items = fields.List(fields.Nested(WebhookEndpointOut), required=True)
