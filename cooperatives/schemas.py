"""Marshmallow schemas of the catalog's JSON: administrative units for the address picker."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields


class ProvinceOut(Schema):
    class Meta:
        unknown = RAISE

    code = fields.Integer()
    name = fields.String()


class WardOut(Schema):
    class Meta:
        unknown = RAISE

    code = fields.Integer()
    name = fields.String()
    province_code = fields.Integer()
