"""What the OCOP pages show beside their main rows: categories, and the producers, products and
certificate a list or dossier refers to. Reads only."""

from __future__ import annotations

from sqlalchemy import select

from cooperatives.models import (
    EvaluationStatus,
    OcopCategory,
    OcopCertificate,
    OcopEvaluation,
    Producer,
    Product,
)
from core.db import db


def category(code: str | None) -> OcopCategory | None:
    return db.session.get(OcopCategory, code) if code else None


def categories() -> list[OcopCategory]:
    return list(db.session.scalars(select(OcopCategory).order_by(OcopCategory.position)))


def producers_by_id(ids: set[int]) -> dict[int, Producer]:
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Producer).where(Producer.id.in_(ids)))}


def products_by_id(ids: set[int]) -> dict[int, Product]:
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))}


def producer_and_product(
    producer_id: int, product_id: int
) -> tuple[Producer | None, Product | None]:
    return db.session.get(Producer, producer_id), db.session.get(Product, product_id)


def certificate_of(evaluation: OcopEvaluation) -> OcopCertificate | None:
    """The certificate a decided evaluation issued (none below three stars)."""
    if evaluation.status != EvaluationStatus.DECIDED:
        return None
    return db.session.scalar(
        select(OcopCertificate).where(OcopCertificate.evaluation_id == evaluation.id)
    )
