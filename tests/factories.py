"""Factories for tests: small, explicit data per test (`make_product(producer, price=150000)`).

Call inside an app context; they flush (ids are set) but do not commit: tests commit when they
need the data visible to requests (`db.session.commit()`), then keep ids, not objects.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from argon2 import PasswordHasher

from accounts.models import CouncilSeat, User
from cooperatives.models import (
    Membership,
    OcopCertificate,
    Producer,
    Product,
    Variant,
)
from cooperatives.ocop import stars_for_score
from core.db import db

_seq = itertools.count(1)
_hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # fast for tests
PASSWORD = "mat-khau-thu-nghiem"


def make_user(
    name: str = "Người dùng",
    phone: str | None = None,
    email: str | None = None,
    password: str | None = PASSWORD,
    admin: bool = False,
) -> User:
    n = next(_seq)
    if phone is None and email is None:
        phone = f"+8491{n:07d}"
    user = User(
        name=name,
        phone=phone,
        email=email,
        password_hash=_hasher.hash(password) if password else None,
        is_platform_admin=admin,
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_council_member(level: str = "province", province_code: int | None = 25) -> User:
    user = make_user(name="Thành viên hội đồng")
    db.session.add(
        CouncilSeat(
            user_id=user.id,
            level=level,
            province_code=province_code if level == "province" else None,
        )
    )
    db.session.flush()
    return user


def make_producer(
    name: str | None = None,
    kind: str = "htx",
    province_code: int = 25,  # Phú Thọ
    ward_code: int = 5089,  # Xã Cao Phong
    manager: User | None = None,
    **fields,
) -> Producer:
    n = next(_seq)
    name = name or f"HTX Thử nghiệm {n}"
    producer = Producer(
        slug=f"htx-thu-nghiem-{n}",
        name=name,
        kind=kind,
        province_code=province_code,
        ward_code=ward_code,
        **fields,
    )
    db.session.add(producer)
    db.session.flush()
    if manager is not None:
        add_member(manager, producer, "manager")
    return producer


def add_member(user: User, producer: Producer, role: str = "member") -> Membership:
    membership = Membership(user_id=user.id, producer_id=producer.id, role=role)
    db.session.add(membership)
    db.session.flush()
    return membership


def make_product(
    producer: Producer,
    name: str | None = None,
    status: str = "published",
    price: int = 150000,
    gtin: str | None = None,
    category_code: str | None = "1.1",
    variants: int = 1,
) -> Product:
    n = next(_seq)
    name = name or f"Sản phẩm {n}"
    product = Product(
        producer_id=producer.id,
        slug=f"san-pham-{n}",
        name_vi=name,
        description_vi="Mô tả sản phẩm.",
        category_code=category_code,
        gtin=gtin,
        status=status,
        search_text=name.lower(),
    )
    db.session.add(product)
    db.session.flush()
    for i in range(variants):
        db.session.add(
            Variant(
                product_id=product.id,
                producer_id=producer.id,
                label=f"thùng {5 * (i + 1)} kg",
                pack_size=Decimal(5 * (i + 1)),
                unit="kg",
                price_vnd=price * (i + 1),
                weight_grams=5000 * (i + 1),
                sku=f"SKU-{n}-{i}",
                position=i,
            )
        )
    db.session.flush()
    return product


def make_certificate(
    product: Product,
    total: str = "80",
    decision_date: date | None = None,
    status: str = "valid",
    rule_set: str = "148/2023",
    parts: tuple[str, str, str] | None = ("32", "20", "28"),
) -> OcopCertificate:
    decision_date = decision_date or date.today() - timedelta(days=30)
    try:
        valid_until = decision_date.replace(year=decision_date.year + 3)
    except ValueError:  # 29 February
        valid_until = decision_date.replace(year=decision_date.year + 3, day=28)
    certificate = OcopCertificate(
        product_id=product.id,
        producer_id=product.producer_id,
        decision_number=f"{next(_seq)}/QĐ-UBND",
        decision_date=decision_date,
        issuing_authority="UBND tỉnh Phú Thọ",
        rating_level="province",
        rule_set=rule_set,
        stars=stars_for_score(Decimal(total)),
        total_score=Decimal(total),
        score_a=Decimal(parts[0]) if parts else None,
        score_b=Decimal(parts[1]) if parts else None,
        score_c=Decimal(parts[2]) if parts else None,
        category_code=product.category_code,
        valid_until=valid_until,
        status=status,
    )
    db.session.add(certificate)
    db.session.flush()
    return certificate


def make_batch(
    product: Product,
    lot_code: str | None = None,
    produced_on: date | None = None,
    quantity: str = "500",
    unit: str = "kg",
    parents: list | None = None,
    **fields,
):
    """A lot of `product` through the real service (its first trace event included)."""
    from traceability.lots.batches import create_batch

    return create_batch(
        product.producer_id,
        product_id=product.id,
        lot_code=lot_code or f"LOT-{next(_seq)}",
        produced_on=produced_on or date.today() - timedelta(days=3),
        quantity=quantity,
        unit=unit,
        parent_ids=[p.id for p in parents or []],
        **fields,
    )
