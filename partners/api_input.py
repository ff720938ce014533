"""What a partner sends, read one way for every /api/v1 route of this package: query strings
and JSON bodies through marshmallow schemas, refusals as Invalid (problem+json) naming the
fields, nothing read that the schema does not know."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError

from core.errors import Invalid


def flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages as {"lines.0.quantity": "…"}."""
    flat: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_"] = " ".join(messages)
    else:
        flat[prefix or "_"] = str(messages)
    return flat


def query(schema: Schema) -> dict[str, Any]:
    """The query string through `schema` (unknown parameters refused)."""
    try:
        return schema.load(request.args.to_dict(flat=True))
    except ValidationError as error:
        fields = flatten(error.messages)
        raise Invalid(
            _l("Tham số không hợp lệ: %(names)s", names=", ".join(sorted(fields))[:300]),
            fields=fields,
        ) from None


def no_query() -> None:
    if request.args:
        raise Invalid(_l("Yêu cầu này không nhận tham số."))


def json_body(schema: Schema, invalid: Any) -> dict[str, Any]:
    """The JSON object body through `schema`; `invalid` is the refusal's title, with the names
    of the fields as `%(names)s`."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise Invalid(_l("Thân yêu cầu cần là một đối tượng JSON."))
    try:
        return schema.load(payload)
    except ValidationError as error:
        fields = flatten(error.messages)
        raise Invalid(invalid % {"names": ", ".join(sorted(fields))[:300]}, fields=fields) from None
