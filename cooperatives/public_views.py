"""Public catalog pages (no sign-in): home with search, producer page /c/<slug>, product page
/p/<slug>, and the communes-of-a-province JSON the profile form uses."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from cooperatives import catalog
from cooperatives.access import active_membership
from cooperatives.labels import KIND_LABELS, STATUS_LABELS
from cooperatives.models import Product, ProductImage, ProductStatus
from cooperatives.producers import clean_text
from cooperatives.schemas import ProvincesOut, ProvinceWardsOut
from core import places
from core.errors import NotFound
from core.i18n import current_locale
from core.images import variant_size
from core.numbers import parse_int
from core.pagecache import cached_page, tag
from core.replica import replica_reads
from core.urls import public_url

bp = Blueprint("catalog", __name__)
DESCRIPTION_MAX = 200


def absolute(path: str) -> str:
    """An absolute URL on the public host (Zalo/Facebook previews need one)."""
    return public_url(path)


def media_url(key: str, variant: str = "card") -> str:
    return url_for("core.media", key=key, variant=variant)


@bp.app_template_global("catalog_text")
def localized(item: Any, field: str) -> str:
    """The English text when the reader chose English and the producer wrote one."""
    if current_locale() == "en":
        english = getattr(item, f"{field}_en", "")
        if english:
            return english
    return getattr(item, f"{field}_vi", "")


@bp.app_template_global("catalog_image")
def image_attrs(image: ProductImage, variant: str = "card") -> dict[str, Any]:
    width, height = variant_size(image.width, image.height, variant)
    return {"src": media_url(image.key, variant), "width": width, "height": height}


@bp.app_template_global("catalog_place")
def place_name(province_code: int | None) -> str:
    place = places.province(province_code)
    return place.name if place else ""


def _page() -> int:
    page = request.args.get("page", 1, type=parse_int) or 1
    return min(max(page, 1), 10_000)


def _short(text: str, limit: int = DESCRIPTION_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


@bp.get("/")
@cached_page
@replica_reads
def home():
    tag("catalog")
    q = clean_text(request.args.get("q"))[:100]
    page = catalog.published_products(_page(), q)
    return render_template(
        "cooperatives/home.html", page=page, cards=catalog.cards(list(page.items)), q=q
    )


@bp.get("/c/<slug>")
@cached_page
@replica_reads
def producer_page(slug: str):
    producer = catalog.producer_by_slug(slug)
    if producer is None:
        abort(404)
    tag(f"producer:{producer.id}")
    page = catalog.producer_products(producer.id, _page())
    address = places.address_line(producer.street, producer.ward_code, producer.province_code)
    url = absolute(url_for(".producer_page", slug=producer.slug))
    return render_template(
        "cooperatives/producer_public.html",
        producer=producer,
        page=page,
        cards=catalog.cards(list(page.items)),
        address=address,
        kind_label=KIND_LABELS.get(producer.kind, ""),
        url=url,
        og_image=absolute(media_url(producer.logo_key, "full")) if producer.logo_key else None,
        description=_short(producer.story or producer.name),
    )


def _may_preview(product: Product) -> bool:
    user = current_user
    if not user or not user.is_authenticated:
        return False
    return (
        bool(user.is_platform_admin) or active_membership(user.id, product.producer_id) is not None
    )


@bp.get("/p/<slug>")
@cached_page
@replica_reads
def product_page(slug: str):
    product = catalog.product_by_slug(slug)
    if product is None:
        abort(404)
    tag(f"product:{product.id}", f"producer:{product.producer_id}")
    archived = product.status == ProductStatus.ARCHIVED  # its stamps still lead here
    preview = not catalog.is_public(product)
    if preview and not _may_preview(product):
        abort(404)  # a draft does not exist for the public
    certificate = catalog.current_certificates([product.id]).get(product.id)
    url = absolute(url_for(".product_page", slug=product.slug))
    name = localized(product, "name")
    description = _short(localized(product, "description") or name)
    image_urls = [absolute(media_url(i.key, "full")) for i in product.images]
    json_ld = catalog.product_json_ld(
        product, url=url, image_urls=image_urls, description=description, certificate=certificate
    )
    address = places.address_line(None, product.producer.ward_code, product.producer.province_code)
    return render_template(
        "cooperatives/product_public.html",
        product=product,
        producer=product.producer,
        variants=catalog.active_variants(product),
        certificate=certificate,
        preview=preview,
        archived=archived,
        status_label=STATUS_LABELS.get(product.status, product.status),
        url=url,
        name=name,
        description=description,
        og_image=image_urls[0] if image_urls else None,
        json_ld=json_ld,
        address=address,
    )


# ---- places JSON for the profile form ----------------------------------------------------------


@bp.get("/api/v1/places/provinces")
def api_provinces():
    response = jsonify(ProvincesOut().dump({"provinces": places.provinces()}))
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@bp.get("/api/v1/places/provinces/<int:code>/wards")
def api_wards(code: int):
    province = places.province(code)
    if province is None:
        raise NotFound(_("Không có tỉnh, thành phố với mã này."))
    body = {"province": province, "wards": places.wards_of(code)}
    response = jsonify(ProvinceWardsOut().dump(body))
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response
