"""Marshmallow `…Out` schemas of the catalog's JSON (administrative units for the address
picker): the views dump with them and the OpenAPI description is generated from them."""

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


class ProvincesOut(Schema):
    """The 34 provinces and centrally-run cities, sorted by name without accents."""

    provinces = fields.List(fields.Nested(ProvinceOut))


class ProvinceWardsOut(Schema):
    """A province and its communes, wards and special zones."""

    province = fields.Nested(ProvinceOut)
    wards = fields.List(fields.Nested(WardOut))


SCHEMAS = (ProvincesOut, ProvinceWardsOut)
