"""Shipping fees by each producer's rule, always computed on the server."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _

from core.db import db
from core.errors import Invalid
from core.money import parse_vnd
from core.numbers import parse_int
from shop.checkout.models import ShippingRule

DEFAULT_FLAT_FEE = 30000
MAX_FEE = 5_000_000


def rule_of(producer_id: int) -> ShippingRule | None:
    return db.session.get(ShippingRule, producer_id)


def shipping_fee(producer_id: int, *, subtotal: int, weight_grams: int) -> int:
    rule = rule_of(producer_id)
    if rule is None:
        return DEFAULT_FLAT_FEE
    if rule.free_above_vnd is not None and subtotal >= rule.free_above_vnd:
        return 0
    if rule.kind == "weight" and rule.bands:
        for up_to, fee in rule.bands:
            if weight_grams <= up_to:
                return int(fee)
        return int(rule.bands[-1][1])
    return rule.flat_fee_vnd


def _fee(raw: Any, field: str) -> int:
    value = parse_vnd(raw) if raw not in (None, "") else None
    if value is None or value < 0 or value > MAX_FEE:
        raise Invalid(fields={field: _("Nhập số tiền từ 0 đến 5.000.000 ₫.")})
    return value


def set_rule(
    producer_id: int,
    *,
    kind: str,
    flat_fee: Any = None,
    bands: Iterable[tuple[Any, Any]] = (),
    free_above: Any = None,
) -> ShippingRule:
    """A producer's shipping rule: `flat` fee, or `weight` bands (up to N grams → fee)."""
    if kind not in ("flat", "weight"):
        raise Invalid(fields={"kind": _("Chọn cách tính phí.")})
    rule = rule_of(producer_id) or ShippingRule(producer_id=producer_id)
    rule.kind = kind
    rule.flat_fee_vnd = _fee(flat_fee, "flat_fee") if kind == "flat" else 0
    clean_bands: list[list[int]] = []
    if kind == "weight":
        for up_to_raw, fee_raw in bands:
            if up_to_raw in (None, "") and fee_raw in (None, ""):
                continue
            up_to = parse_int(up_to_raw, minimum=1, maximum=1_000_000)
            if up_to is None:
                raise Invalid(fields={"bands": _("Khối lượng là số gam, ví dụ 5000.")})
            clean_bands.append([up_to, _fee(fee_raw, "bands")])
        if not clean_bands:
            raise Invalid(fields={"bands": _("Nhập ít nhất một mức khối lượng.")})
        clean_bands.sort()
    rule.bands = clean_bands
    rule.free_above_vnd = None if free_above in (None, "") else _fee(free_above, "free_above")
    db.session.add(rule)
    db.session.flush()
    return rule
