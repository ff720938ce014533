"""The shop's part of the public pages: the buy box on the product page (served by
cooperatives, which knows nothing of the shop: its template calls the `product_buy_box` hook
when one is registered), the search page and OCOP-group pages."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from markupsafe import Markup

from cooperatives.selling import SaleVariant
from shop.inventory.services import STOCK_LABELS, available_units
from shop.storefront.services import offers

bp = Blueprint("storefront", __name__)


def product_buy_box(product, variants) -> Markup:
    """Prices, stock levels, the next lot's trace highlights and an add-to-cart form."""
    # the page has loaded the product, its producer and variants already: no need to ask again
    facts = {
        v.id: SaleVariant(
            id=v.id,
            product_id=product.id,
            producer_id=product.producer_id,
            producer_name=product.producer.name,
            producer_slug=product.producer.slug,
            product_slug=product.slug,
            product_name_vi=product.name_vi,
            product_name_en=product.name_en or "",
            label=v.label,
            price_vnd=v.price_vnd,
            weight_grams=v.weight_grams,
            pack_size=v.pack_size,
            unit=v.unit,
            sku=v.sku,
            on_sale=bool(v.active) and product.status == "published",
        )
        for v in variants
    }
    found = offers([v.id for v in variants], facts)
    return Markup(  # noqa: S704  (a rendered, autoescaped template)
        render_template(
            "shop/_buy_box.html",
            offers=found,
            labels=STOCK_LABELS,
            here=request.path,
            product=product,
        )
    )


IN_STOCK, OUT_OF_STOCK = "https://schema.org/InStock", "https://schema.org/OutOfStock"


def product_offers_json_ld(json_ld: dict, variants) -> dict:
    """The product page's schema.org data with each offer's availability from live stock.

    cooperatives builds one offer per active variant, in the order of `variants`; its template
    passes its data through this hook when the shop registered it."""
    offers = json_ld.get("offers") or []
    if len(offers) != len(variants) or any(
        o.get("name") != v.label for o, v in zip(offers, variants, strict=True)
    ):
        return json_ld
    units = available_units([v.id for v in variants])
    return {
        **json_ld,
        "offers": [
            {**offer, "availability": IN_STOCK if units.get(v.id, 0) > 0 else OUT_OF_STOCK}
            for offer, v in zip(offers, variants, strict=True)
        ],
    }


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["product_buy_box"] = product_buy_box
    app.jinja_env.globals["product_offers_json_ld"] = product_offers_json_ld
