"""Photos of a product: stored validated and EXIF-stripped, ordered, described for screen
readers; files leave storage only once their row's deletion is committed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from cooperatives.access import Acting
from cooperatives.models import Product, ProductImage
from cooperatives.producers import audit, clean_text
from core.db import after_commit, after_rollback, db, utcnow
from core.errors import Invalid, NotFound
from core.images import StoredImage, check_request_pixels, delete_image, store_image

ALT_MAX = 200
MAX_IMAGES = 10


def add_images(
    acting: Acting, product: Product, streams: Iterable[IO[bytes]], alt: str = ""
) -> list[ProductImage]:
    """Store each upload (validated, EXIF-stripped, resized); all or nothing."""
    streams = list(streams)
    alt = clean_text(alt)
    if not streams:
        raise Invalid(fields={"photos": _l("Vui lòng chọn ít nhất một ảnh.")})
    if len(alt) > ALT_MAX:
        raise Invalid(fields={"alt": _l("Mô tả ảnh dài quá %(n)s ký tự.", n=ALT_MAX)})
    count = (
        db.session.scalar(
            select(func.count(ProductImage.id)).where(ProductImage.product_id == product.id)
        )
        or 0
    )
    if count + len(streams) > MAX_IMAGES:
        raise Invalid(fields={"photos": _l("Mỗi sản phẩm có tối đa %(n)s ảnh.", n=MAX_IMAGES)})
    try:
        check_request_pixels(streams)  # nine 40 MP photos refused before any is decoded
    except Invalid as error:
        raise Invalid(fields={"photos": error.message}, code=error.code) from error
    stored: list[StoredImage] = []
    try:
        for stream in streams:
            stored.append(store_image(stream))
    except Invalid as error:
        for image in stored:
            delete_image(image.key)
        raise Invalid(fields={"photos": error.message}, code=error.code) from error
    keys = [image.key for image in stored]
    after_rollback(lambda: [delete_image(key) for key in keys])  # rows gone: files too
    images = []
    for offset, image in enumerate(stored):
        row = ProductImage(
            product_id=product.id,
            key=image.key,
            width=image.width,
            height=image.height,
            alt=alt or product.name_vi[:ALT_MAX],
            position=count + offset,
        )
        db.session.add(row)
        images.append(row)
    product.updated_at = utcnow()
    db.session.flush()
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "image.add",
        "product",
        product.id,
        {"product": product.name_vi, "count": len(images)},
    )
    return images


def find_image(product: Product, image_id: int) -> ProductImage:
    image = db.session.scalar(
        select(ProductImage).where(
            ProductImage.id == image_id, ProductImage.product_id == product.id
        )
    )
    if image is None:
        raise NotFound()
    return image


def _ordered_images(product_id: int) -> list[ProductImage]:
    return list(
        db.session.scalars(
            select(ProductImage)
            .where(ProductImage.product_id == product_id)
            .order_by(ProductImage.position, ProductImage.id)
        )
    )


def update_image_alt(acting: Acting, product: Product, image: ProductImage, alt: str) -> None:
    alt = clean_text(alt)
    if len(alt) > ALT_MAX:
        raise Invalid(fields={"alt": _l("Mô tả ảnh dài quá %(n)s ký tự.", n=ALT_MAX)})
    if alt == image.alt:
        return
    image.alt = alt
    product.updated_at = utcnow()  # pages keyed on the product's version show the new text
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "image.update",
        "product",
        product.id,
        {"product": product.name_vi, "image_id": image.id},
    )
    db.session.flush()


def move_image(acting: Acting, product: Product, image: ProductImage, direction: str) -> None:
    """Move a photo one place up or down; the first photo is the one shown on cards."""
    if direction not in ("up", "down", "first"):
        raise Invalid(_l("Hướng di chuyển không hợp lệ."))
    images = _ordered_images(product.id)
    index = next(i for i, row in enumerate(images) if row.id == image.id)
    images.pop(index)
    target = {"up": max(index - 1, 0), "down": min(index + 1, len(images)), "first": 0}[direction]
    images.insert(target, image)
    if target == index:
        return
    for position, row in enumerate(images):
        row.position = position
    product.updated_at = utcnow()
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "image.move",
        "product",
        product.id,
        {"product": product.name_vi, "image_id": image.id},
    )
    db.session.flush()


def remove_image(acting: Acting, product: Product, image: ProductImage) -> str:
    """Delete a photo row; its files go once the deletion is committed. Returns its storage key."""
    key, image_id = image.key, image.id
    after_commit(lambda: delete_image(key))
    db.session.delete(image)
    db.session.flush()
    for position, row in enumerate(_ordered_images(product.id)):
        row.position = position
    product.updated_at = utcnow()
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "image.delete",
        "product",
        product.id,
        {"product": product.name_vi, "image_id": image_id},
    )
    db.session.flush()
    return key
