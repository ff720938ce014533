"""Synthetic catalog for benchmarks: `flask bench-data` (1,000 producers, 100,000 products).

Rows go in with Core `insert()` executemany batches inside one transaction: no ORM object per row.
Bench producers are marked by the slug prefix `bench-`; a second run refuses to add more.
Names are made from real 2025 provinces and communes and common Vietnamese words (seeded random).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import click
from sqlalchemy import func, insert, select

from cooperatives.models import OcopCertificate, Producer, Product, Variant
from cooperatives.ocop import PART_MAXIMA, VALIDITY_MONTHS, stars_for_score
from cooperatives.reference import load_ocop_categories
from core.db import db, utcnow
from core.places import Place, province, provinces, wards_of
from core.text import fold, slugify

SLUG_PREFIX = "bench-"
BATCH_ROWS = 5_000
SEED = 20251123

CITIES = {"Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "Huế"}
SURNAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Hà", "Lò", "Sầm",
)  # fmt: skip
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thanh", "Ngọc", "Hữu", "Quang", "Thu", "Kim")
GIVEN = (
    "An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Lan", "Linh", "Mai",
    "Nam", "Phúc", "Quang", "Sơn", "Thảo", "Trang", "Tuấn", "Yến", "Hương", "Khánh", "Lộc", "Tâm",
)  # fmt: skip
SECTORS = (
    "Nông nghiệp", "Dịch vụ nông nghiệp", "Chè", "Cây ăn quả", "Mật ong", "Rau an toàn",
    "Thủy sản", "Dược liệu", "Lúa gạo", "Chăn nuôi", "Thủ công mỹ nghệ", "Nấm",
)  # fmt: skip
KINDS = (("htx", 45), ("tht", 10), ("dn", 10), ("hkd", 35))

# (name, OCOP sub-group, variants: (label, pack size, unit, price in đồng, weight in grams))
GOODS: tuple[tuple[str, str, tuple[tuple[str, str, str, int, int], ...]], ...] = (
    ("Cam", "1.1", (("túi 2 kg", "2", "kg", 90_000, 2_000), ("thùng 5 kg", "5", "kg", 210_000,
     5_200), ("thùng 10 kg", "10", "kg", 400_000, 10_400))),
    ("Bưởi da xanh", "1.1", (("quả 1,5 kg", "1.5", "kg", 75_000, 1_500), ("thùng 10 kg", "10",
     "kg", 450_000, 10_400))),
    ("Vải thiều", "1.1", (("hộp 2 kg", "2", "kg", 120_000, 2_100), ("thùng 5 kg", "5", "kg",
     280_000, 5_300))),
    ("Mật ong bạc hà", "1.3", (("chai 500 ml", "500", "ml", 180_000, 750), ("chai 1 lít", "1",
     "l", 340_000, 1_450))),
    ("Chè Shan tuyết", "1.5", (("gói 100 g", "100", "g", 95_000, 120), ("hộp 200 g", "200", "g",
     180_000, 260), ("hộp 500 g", "500", "g", 420_000, 600))),
    ("Cà phê Robusta rang xay", "1.6", (("gói 250 g", "250", "g", 75_000, 270), ("gói 500 g",
     "500", "g", 140_000, 530))),
    ("Gạo ST25", "1.2", (("túi 2 kg", "2", "kg", 70_000, 2_000), ("túi 5 kg", "5", "kg", 165_000,
     5_000))),
    ("Nước mắm cá cơm", "1.4", (("chai 500 ml", "500", "ml", 65_000, 800), ("can 2 lít", "2",
     "l", 220_000, 2_400))),
    ("Miến dong", "1.3", (("gói 500 g", "500", "g", 45_000, 520), ("gói 1 kg", "1", "kg", 85_000,
     1_030))),
    ("Rượu men lá", "2.1", (("chai 500 ml", "500", "ml", 120_000, 900),)),
    ("Trà hoa vàng", "2.2", (("hộp 50 g", "50", "g", 160_000, 150),)),
    ("Cao dược liệu", "3.1", (("lọ 100 g", "100", "g", 250_000, 180),)),
    ("Tinh dầu sả chanh", "3.3", (("chai 50 ml", "50", "ml", 85_000, 120), ("chai 100 ml", "100",
     "ml", 150_000, 200))),
    ("Giỏ mây tre đan", "4.1", (("chiếc", "1", "cái", 180_000, 600),)),
    ("Khăn thổ cẩm", "4.2", (("chiếc", "1", "cái", 220_000, 200),)),
    ("Lan hồ điệp", "5.1", (("chậu 3 cành", "1", "chậu", 650_000, 3_000),)),
    ("Nấm linh chi", "3.1", (("hộp 200 g", "200", "g", 350_000, 260), ("hộp 500 g", "500", "g",
     800_000, 600))),
    ("Dưa lê", "1.1", (("túi 2 kg", "2", "kg", 60_000, 2_000),)),
    ("Rau cải hữu cơ", "1.1", (("bó 500 g", "500", "g", 25_000, 500),)),
    ("Chả cá", "1.3", (("hộp 500 g", "500", "g", 110_000, 550),)),
)  # fmt: skip
QUALIFIERS = ("", "", "", "loại 1", "hữu cơ", "VietGAP", "đặc sản", "tuyển chọn")


def generate(producers: int = 1000, products: int = 100_000, stamps: int = 0) -> str:
    """Insert `producers` bench producers and `products` products (1–3 variants each) with a mix
    of valid, expired and revoked OCOP certificates. Commits (it is the unit of work of the
    `flask bench-data` command). Refuses when bench data is already present."""
    existing = db.session.scalar(
        select(func.count()).select_from(Producer).where(Producer.slug.startswith(SLUG_PREFIX))
    )
    if existing:
        return f"bench data already present ({existing} bench producers); nothing added"
    if producers < 1 or products < 0:
        raise click.BadParameter("need at least one producer and a non-negative product count")

    started = time.perf_counter()
    rng = random.Random(SEED)
    now = utcnow()
    load_ocop_categories()  # reference rows the products point at (idempotent)
    producer_ids = _insert_producers(rng, producers, now)
    product_rows, variant_count = _insert_products_and_variants(rng, producer_ids, products, now)
    authorities = {pid: _authority(ward) for pid, ward, _place in producer_ids}
    certificates = _insert_certificates(rng, product_rows, authorities, now)
    db.session.commit()
    elapsed = time.perf_counter() - started
    rows = producers + products + variant_count + certificates
    return (
        f"{producers} producers, {products} products, {variant_count} variants, "
        f"{certificates} certificates in {elapsed:.1f} s ({rows / max(elapsed, 1e-9):,.0f} rows/s)"
    )


def _chunks(items: Sequence[Any], size: int = BATCH_ROWS) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_returning_ids(table: Any, rows: list[dict[str, Any]], label: str) -> list[int]:
    """executemany in batches; ids come back in the order of the rows."""
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids: list[int] = []
    with click.progressbar(length=len(rows), label=label) as bar:
        for chunk in _chunks(rows):
            ids.extend(db.session.execute(stmt, list(chunk)).scalars())
            bar.update(len(chunk))
    return ids


def _insert_plain(table: Any, rows: list[dict[str, Any]], label: str) -> None:
    stmt = insert(table)
    with click.progressbar(length=len(rows), label=label) as bar:
        for chunk in _chunks(rows):
            db.session.execute(stmt, list(chunk))
            bar.update(len(chunk))


def _person(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def _short_place(ward: Place) -> str:
    for prefix in ("Xã ", "Phường ", "Đặc khu "):
        if ward.name.startswith(prefix):
            return ward.name.removeprefix(prefix)
    return ward.name


def _producer_name(rng: random.Random, kind: str, place: str) -> str:
    if kind == "htx":
        return f"HTX {rng.choice(SECTORS)} {place}"
    if kind == "tht":
        return f"Tổ hợp tác {rng.choice(SECTORS).lower()} {place}"
    if kind == "dn":
        return f"Công ty TNHH {rng.choice(SECTORS)} {place}"
    return f"Hộ kinh doanh {_person(rng)}"


def _insert_producers(rng: random.Random, count: int, now: Any) -> list[tuple[int, Place, str]]:
    """Returns (id, ward, short place name) for each new producer."""
    all_provinces = provinces()
    kinds = [k for k, _w in KINDS]
    weights = [w for _k, w in KINDS]
    rows: list[dict[str, Any]] = []
    places: list[tuple[Place, str]] = []
    for n in range(1, count + 1):
        province = rng.choice(all_provinces)
        ward = rng.choice(wards_of(province.code))
        place = _short_place(ward)
        kind = rng.choices(kinds, weights)[0]
        name = _producer_name(rng, kind, place)
        rows.append(
            {
                "slug": f"{SLUG_PREFIX}{n}-{slugify(name, 70)}",
                "name": name,
                "kind": kind,
                "tax_code": f"{rng.randrange(10**9, 10**10)}",
                "province_code": province.code,
                "ward_code": ward.code,
                "street": f"Thôn {rng.randint(1, 12)}",
                "phone": f"+8491{rng.randrange(10**7):07d}",
                "email": None,
                "story": f"{name} ở {ward.name}, {province.name}: sản phẩm của bà con địa phương.",
                "logo_key": None,
                "bank_bin": "970446",
                "bank_account": f"{rng.randrange(10**11, 10**12)}",
                "bank_account_name": name[:120],
                "gs1_prefix": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        places.append((ward, place))
    ids = _insert_returning_ids(Producer.__table__, rows, "producers")
    return [(pid, ward, place) for pid, (ward, place) in zip(ids, places, strict=True)]


def _insert_products_and_variants(
    rng: random.Random, producer_ids: list[tuple[int, Place, str]], count: int, now: Any
) -> tuple[list[tuple[int, int, str, str]], int]:
    """Returns ((product id, producer id, status, category) for each product, variant count)."""
    statuses = ("published", "draft", "archived")
    rows: list[dict[str, Any]] = []
    meta: list[tuple[int, int, str]] = []  # producer id, goods index, n
    for n in range(1, count + 1):
        producer_id, _ward, place = producer_ids[(n - 1) % len(producer_ids)]
        goods_index = rng.randrange(len(GOODS))
        base, category, _variants = GOODS[goods_index]
        qualifier = rng.choice(QUALIFIERS)
        name = " ".join(part for part in (base, place, qualifier) if part)
        status = rng.choices(statuses, (90, 7, 3))[0]
        rows.append(
            {
                "producer_id": producer_id,
                "slug": f"{SLUG_PREFIX}{n}-{slugify(name, 100)}",
                "name_vi": name,
                "name_en": "",
                "description_vi": f"{name}: sản phẩm của bà con {place}, thu hoạch và đóng gói "
                "tại địa phương.",
                "description_en": "",
                "category_code": category,
                "gtin": None,
                "status": status,
                "search_text": fold(name),
                "created_by_id": None,
                "updated_by_id": None,
                "created_at": now,
                "updated_at": now,
                "published_at": now if status == "published" else None,
            }
        )
        meta.append((producer_id, goods_index, n))
    ids = _insert_returning_ids(Product.__table__, rows, "products")

    variants: list[dict[str, Any]] = []
    products: list[tuple[int, int, str, str]] = []
    for product_id, (producer_id, goods_index, n), row in zip(ids, meta, rows, strict=True):
        options = GOODS[goods_index][2]
        how_many = rng.randint(1, len(options))
        for position, (label, pack, unit, price, grams) in enumerate(options[:how_many]):
            variants.append(
                {
                    "product_id": product_id,
                    "producer_id": producer_id,
                    "label": label,
                    "pack_size": Decimal(pack),
                    "unit": unit,
                    "price_vnd": price + 5_000 * rng.randint(-3, 6),
                    "weight_grams": grams,
                    "sku": f"B{n}-{position + 1}",
                    "position": position,
                    "active": True,
                }
            )
        products.append((product_id, producer_id, row["status"], row["category_code"]))
    _insert_plain(Variant.__table__, variants, "variants")
    return products, len(variants)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _scores(rng: random.Random, rule_set: str) -> tuple[int, Decimal, Decimal, Decimal, Decimal]:
    stars = rng.choices((3, 4, 5), (50, 42, 8))[0]
    low, high = {3: (50, 69), 4: (70, 89), 5: (90, 98)}[stars]
    total = rng.randint(low, high)
    max_a, max_b, max_c = PART_MAXIMA[rule_set]
    a = min(max_a, round(total * max_a / 100))
    b = min(max_b, round(total * max_b / 100))
    c = total - a - b
    if c > max_c:  # rounding pushed C over its maximum: give the rest to A
        a, c = a + (c - max_c), max_c
    assert stars_for_score(total) == stars
    return stars, Decimal(total), Decimal(a), Decimal(b), Decimal(c)


def _authority(ward: Place) -> str:
    home = province(ward.province_code)
    name = home.name if home else ""
    return f"UBND {'thành phố' if name in CITIES else 'tỉnh'} {name}"


def _insert_certificates(
    rng: random.Random,
    products: list[tuple[int, int, str, str]],
    authorities: dict[int, str],
    now: Any,
) -> int:
    """About one published product in six gets a certificate: 80% valid (some expiring within
    90 days), 15% expired, 5% revoked."""
    today = date.today()
    rule_change = date(2023, 2, 24)  # Decision 148/QĐ-TTg replaced 1048/QĐ-TTg
    rows: list[dict[str, Any]] = []
    for n, (product_id, producer_id, status, category) in enumerate(products, 1):
        if status != "published" or rng.random() > 1 / 6:
            continue
        state = rng.choices(("valid", "expired", "revoked"), (80, 15, 5))[0]
        if state == "expired":
            decided = today - timedelta(days=rng.randint(37 * 30, 60 * 30))
        else:
            decided = today - timedelta(days=rng.randint(10, 35 * 30))
        rule_set = "148/2023" if decided >= rule_change else "1048/2019"
        stars, total, a, b, c = _scores(rng, rule_set)
        rows.append(
            {
                "product_id": product_id,
                "producer_id": producer_id,
                "decision_number": f"{n}/QĐ-UBND",
                "decision_date": decided,
                "issuing_authority": "Bộ Nông nghiệp và Môi trường"
                if stars == 5
                else authorities[producer_id],
                "rating_level": "central" if stars == 5 else "province",
                "rule_set": rule_set,
                "stars": stars,
                "total_score": total,
                "score_a": a,
                "score_b": b,
                "score_c": c,
                "category_code": category,
                "valid_until": _add_months(decided, VALIDITY_MONTHS),
                "status": state,
                "revoked_at": now if state == "revoked" else None,
                "revoked_reason": "Không tái đánh giá đúng hạn" if state == "revoked" else None,
                "evaluation_id": None,
                "created_by_id": None,
                "created_at": now,
            }
        )
    _insert_plain(OcopCertificate.__table__, rows, "certificates")
    return len(rows)
