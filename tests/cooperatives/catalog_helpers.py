"""Shared arrangements for the catalog tests (producers with their people, images, counting SQL)."""

from __future__ import annotations

import io
from contextlib import contextmanager

from PIL import Image
from sqlalchemy import event

from core.db import db
from tests.factories import add_member, make_producer, make_user


def jpeg_with_gps(width: int = 640, height: int = 480) -> bytes:
    """A phone photo: orientation, maker and the farm's GPS position in EXIF."""
    image = Image.new("RGB", (width, height), (230, 140, 20))
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (20.0, 42.0, 5.0), 3: "E", 4: (105.0, 19.0, 30.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")  # a small file that unpacks to 400 MP
    return out.getvalue()


def household(manager_name: str = "Nguyễn Văn A", helper: bool = True) -> dict:
    """A household with its manager and (optionally) a community helper; returns ids."""
    manager = make_user(name=manager_name)
    producer = make_producer(
        name=f"Hộ {manager_name}", kind="hkd", province_code=38, ward_code=15865, manager=manager
    )
    ids = {"producer": producer.id, "manager": manager.id, "slug": producer.slug}
    if helper:
        tuan = make_user(name="Anh Tuấn")
        membership = add_member(tuan, producer, "helper")
        ids.update(helper=tuan.id, helper_membership=membership.id)
    return ids


@contextmanager
def count_queries(app):
    """Count SQL statements run inside the block: `with count_queries(app) as n: ...; n[0]`."""
    counter = [0]
    with app.app_context():
        engine = db.engine

    def _count(*_args, **_kwargs):
        counter[0] += 1

    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", _count)
