"""What a product page shows from the shop: each pack size's price and stock level, and the
trace highlights of the lot a buyer gets next (first expiry first out)."""

from __future__ import annotations

from dataclasses import dataclass

from cooperatives.selling import SaleVariant, sale_variants
from shop.inventory.services import available_units, next_lots, stock_level
from traceability.lots.selling import LotFacts, lot_facts


@dataclass(frozen=True)
class Offer:
    variant: SaleVariant
    available: int
    level: str  # in_stock | low | out
    next_lot: LotFacts | None


def offers(variant_ids: list[int], variants: dict[int, SaleVariant] | None = None) -> list[Offer]:
    """Three queries whatever the number of pack sizes (four without `variants`)."""
    variants = variants if variants is not None else sale_variants(variant_ids)
    on_sale = [v for v in variant_ids if v in variants and variants[v].on_sale]
    available = available_units(on_sale)
    nexts = next_lots(on_sale)
    facts = lot_facts(nexts.values()) if nexts else {}
    return [
        Offer(
            variant=variants[v],
            available=available.get(v, 0),
            level=stock_level(available.get(v, 0)),
            next_lot=facts.get(nexts[v]) if v in nexts else None,
        )
        for v in on_sale
    ]
