"""Demo producers, products, photos and OCOP records for `flask seed-demo` (idempotent by slug).

Real places (2025 units): Cao Phong oranges (Phú Thọ, formerly Hòa Bình), Hoằng Hóa vegetables
(Thanh Hóa) typed in by a community helper, Cầu Đúc pineapple (Cần Thơ, formerly Hậu Giang), Bảo
Ninh fish sauce (Quảng Trị, formerly Quảng Bình). Photos are drawn locally with Pillow. Old
certificates keep the authority names they were issued under. Flushes; the command commits.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from accounts.models import User
from accounts.services import create_user
from cooperatives import memberships, producers, product_photos, products, variants
from cooperatives.access import Acting, active_membership
from cooperatives.demo_data import HELPER_PHONE, HOUSEHOLDS, PRODUCERS, DemoProducer, DemoProduct
from cooperatives.models import (
    CertificateStatus,
    EvaluationStatus,
    MemberRole,
    OcopCertificate,
    OcopEvaluation,
    Producer,
    Product,
    ProductStatus,
    RuleSet,
)
from cooperatives.ocop import PART_MAXIMA, default_rule_set, stars_for_score, valid_until_for
from cooperatives.reference import load_ocop_categories
from core import places
from core.db import db, utcnow
from core.i18n import local_today
from core.text import fold, slugify


def _photo(label: str, colour: tuple[int, int, int], n: int) -> io.BytesIO:
    """A 1200×900 picture: coloured fruit shapes and the product name."""
    image = Image.new("RGB", (1200, 900), (245, 240, 225))
    draw = ImageDraw.Draw(image)
    for i in range(5):
        x, y, r = 220 + i * 180, 360 + (i % 2) * 90 + n * 20, 120 - (i % 3) * 15
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour, outline=(90, 60, 20), width=4)
        draw.ellipse((x - 18, y - r - 10, x + 30, y - r + 20), fill=(50, 130, 50))
    draw.rectangle((0, 720, 1200, 900), fill=(31, 111, 67))
    text, size = fold(label).upper(), 60
    font = ImageFont.load_default(size=size)
    while draw.textlength(text, font=font) > 860 and size > 24:  # fits a square crop of the card
        size -= 4
        font = ImageFont.load_default(size=size)
    x = (1200 - draw.textlength(text, font=font)) / 2
    draw.text((x, 810 - size / 2), text, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    out.seek(0)
    return out


def _user(phone: str, name: str) -> User:
    user = db.session.scalar(select(User).where(User.phone == phone))
    if user is None:  # the accounts demo did not run: a passwordless account (sign in by code)
        user = create_user(name, phone=phone)
        db.session.flush()
    return user


def _producer(spec: DemoProducer, counts: dict[str, int]) -> Acting:
    manager = _user(*spec.manager)
    producer = db.session.scalar(select(Producer).where(Producer.slug == slugify(spec.name)))
    if producer is None:
        ward = places.find_ward(spec.ward, spec.province_code)
        assert ward is not None, spec.ward
        data = producers.ProducerData(
            name=spec.name,
            kind=spec.kind,
            tax_code=spec.tax_code,
            province_code=spec.province_code,
            ward_code=ward.code,
            street=spec.street,
            phone=spec.manager[0],
            story=spec.story,
            bank_bin=spec.bank[0],
            bank_account=spec.bank[1],
            bank_account_name=spec.bank[2],
            gs1_prefix=spec.gs1_prefix,
        )
        producer = producers.create_producer(manager, data)
        counts["producers"] += 1
    acting = Acting(user=manager, producer=producer, role=MemberRole.MANAGER)
    for phone, name, role in spec.members:
        _ensure_member(acting, phone, name, role)
    return acting


def _ensure_member(acting: Acting, phone: str, name: str, role: str) -> None:
    user = _user(phone, name)
    if active_membership(user.id, acting.producer.id) is None:
        invitation = memberships.invite_member(acting, phone, role, name)
        memberships.accept_invitation(user, invitation.id)


def _products(acting: Acting, items: tuple[DemoProduct, ...], counts: dict[str, int]) -> None:
    for spec in items:
        exists = db.session.scalar(
            select(Product.id).where(
                Product.producer_id == acting.producer.id, Product.name_vi == spec.name
            )
        )
        if exists:
            continue
        product = products.create_product(
            acting,
            products.ProductData(
                name_vi=spec.name,
                name_en=spec.name_en,
                description_vi=spec.description,
                category_code=spec.category,
                gtin=spec.gtin,
            ),
        )
        for v in spec.variants:
            variants.add_variant(
                acting,
                product,
                variants.VariantData(
                    label=v.label,
                    pack_size=v.pack_size,
                    unit=v.unit,
                    price=str(v.price),
                    weight_grams=str(v.grams),
                ),
            )
        db.session.refresh(product, ["variants"])
        product_photos.add_images(
            acting,
            product,
            [_photo(spec.name, spec.colour, n) for n in range(spec.photos)],
            alt=spec.name,
        )
        if spec.published:
            products.set_status(acting, product, ProductStatus.PUBLISHED)
        counts["products"] += 1


def _product(producer_name: str, name: str) -> Product | None:
    return db.session.scalar(
        select(Product)
        .join(Producer, Producer.id == Product.producer_id)
        .where(Producer.slug == slugify(producer_name), Product.name_vi == name)
    )


def _certificate(
    product: Product | None,
    *,
    number: str,
    signed: date,
    authority: str,
    level: str,
    parts: tuple[str, str, str],
    rule_set: str | None = None,
    status: str = CertificateStatus.VALID,
    reason: str | None = None,
) -> int:
    if product is None:
        return 0
    exists = db.session.scalar(
        select(OcopCertificate.id).where(
            OcopCertificate.product_id == product.id, OcopCertificate.decision_number == number
        )
    )
    if exists:
        return 0
    rule_set = rule_set or default_rule_set(signed)
    a, b, c = (Decimal(p) for p in parts)
    assert all(s <= m for s, m in zip((a, b, c), PART_MAXIMA[rule_set], strict=True)), (
        "demo scores must fit the rule set's part maxima"
    )
    total = a + b + c
    db.session.add(
        OcopCertificate(
            product_id=product.id,
            producer_id=product.producer_id,
            decision_number=number,
            decision_date=signed,
            issuing_authority=authority,
            rating_level=level,
            rule_set=rule_set,
            stars=stars_for_score(total),
            total_score=total,
            score_a=a,
            score_b=b,
            score_c=c,
            category_code=product.category_code,
            valid_until=valid_until_for(signed),
            status=status,
            revoked_at=utcnow() if status == CertificateStatus.REVOKED else None,
            revoked_reason=reason,
        )
    )
    return 1


# Long on purpose: demo records written out one after another read best as one list.
def _ocop(counts: dict[str, int]) -> None:
    today = local_today()
    # Bà Lan's certificate (JOURNEYS.md): 4★, 80 points, signed in the old province's name.
    counts["certificates"] += _certificate(
        _product("HTX Cam Cao Phong", "Cam Cao Phong loại 1"),
        number="1234/QĐ-UBND",
        signed=date(2024, 3, 15),
        authority="UBND tỉnh Hòa Bình",
        level="province",
        rule_set=RuleSet.QD_148_2023,
        parts=("32", "20", "28"),
    )
    # Issued under Decision 1048/2019 (parts out of 35/25/40) and lapsed after 36 months.
    counts["certificates"] += _certificate(
        _product("HTX Cam Cao Phong", "Nước cam ép Cao Phong"),
        number="2150/QĐ-UBND",
        signed=date(2021, 6, 10),
        authority="UBND huyện Cao Phong, tỉnh Hòa Bình",
        level="district",
        rule_set=RuleSet.QD_1048_2019,
        parts=("22", "15", "27"),
        status=CertificateStatus.EXPIRED,
    )
    # Expiring within 90 days of the day the demo is loaded: shows on the council's list.
    lapse = today + timedelta(days=45)
    signed = date(lapse.year - 3, lapse.month, min(lapse.day, 28))
    counts["certificates"] += _certificate(
        _product("HTX Khóm Cầu Đúc Hỏa Lựu", "Khóm Cầu Đúc"),
        number="89/QĐ-UBND",
        signed=signed,
        authority="UBND tỉnh Hậu Giang",
        level="province",
        parts=("28", "17", "25"),
    )
    counts["certificates"] += _certificate(
        _product("Cơ sở nước mắm Bảo Ninh", "Nước mắm cá cơm Bảo Ninh"),
        number="567/QĐ-UBND",
        signed=date(2023, 8, 20),
        authority="UBND tỉnh Quảng Bình",
        level="province",
        rule_set=RuleSet.QD_148_2023,
        parts=("24", "14", "20"),
        status=CertificateStatus.REVOKED,
        reason="Không duy trì điều kiện sản xuất như hồ sơ được công nhận (kiểm tra tháng 9/2025).",
    )
    # Re-evaluation of the lapsed product, submitted in Phú Thọ and waiting for the council.
    juice = _product("HTX Cam Cao Phong", "Nước cam ép Cao Phong")
    if juice is not None:
        waiting = db.session.scalar(
            select(OcopEvaluation.id).where(
                OcopEvaluation.product_id == juice.id,
                OcopEvaluation.status == EvaluationStatus.SUBMITTED,
            )
        )
        if waiting is None:
            lan = db.session.scalar(select(User).where(User.phone == "+84912000001"))
            db.session.add(
                OcopEvaluation(
                    product_id=juice.id,
                    producer_id=juice.producer_id,
                    province_code=25,
                    rule_set=RuleSet.QD_148_2023,
                    status=EvaluationStatus.SUBMITTED,
                    note="Đánh giá lại sau khi chứng nhận 2021 hết hạn.",
                    submitted_by_id=lan.id if lan else None,
                )
            )
            counts["evaluations"] += 1


def seed_demo() -> str:
    counts = {"producers": 0, "products": 0, "certificates": 0, "evaluations": 0}
    load_ocop_categories()  # reference data the products point at (a no-op once loaded)
    for spec in PRODUCERS:
        _products(_producer(spec, counts), spec.products, counts)
    helper = _user(HELPER_PHONE, "Anh Tuấn")
    for phone, name, ward, items in HOUSEHOLDS:
        spec = DemoProducer(
            name=f"Hộ {name}",
            kind="hkd",
            province_code=38,
            ward=ward,
            street="",
            manager=(phone, name),
            story=f"Hộ trồng rau màu ở {ward}, Thanh Hóa.",
            products=items,
            members=((HELPER_PHONE, helper.name, MemberRole.HELPER),),
        )
        acting = _producer(spec, counts)
        # The helper typed the household's products in: the history says so.
        as_helper = Acting(user=helper, producer=acting.producer, role=MemberRole.HELPER)
        _products(as_helper, items, counts)
    _ocop(counts)
    db.session.flush()
    return (
        f"{counts['producers']} cơ sở mới, {counts['products']} sản phẩm mới, "
        f"{counts['certificates']} chứng nhận OCOP mới, {counts['evaluations']} hồ sơ chờ chấm"
    )
