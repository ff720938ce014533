"""Producers, their members, products with variants and photos, OCOP reference data,
certificates and evaluations."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User
from core.db import db, utcnow


class ProducerKind(enum.StrEnum):
    HTX = "htx"  # hợp tác xã
    THT = "tht"  # tổ hợp tác
    DN = "dn"  # doanh nghiệp
    HKD = "hkd"  # hộ sản xuất kinh doanh


class MemberRole(enum.StrEnum):
    MANAGER = "manager"
    MEMBER = "member"
    HELPER = "helper"  # community digital-tech helper invited by the producer


class ProductStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Producer(db.Model):
    __tablename__ = "producer"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(90), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    tax_code: Mapped[str | None] = mapped_column(String(14))
    province_code: Mapped[int] = mapped_column(index=True)
    ward_code: Mapped[int] = mapped_column(index=True)
    street: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    story: Mapped[str] = mapped_column(Text, default="")
    logo_key: Mapped[str | None] = mapped_column(String(32))
    bank_bin: Mapped[str | None] = mapped_column(String(6))
    bank_account: Mapped[str | None] = mapped_column(String(19))
    bank_account_name: Mapped[str | None] = mapped_column(String(120))
    gs1_prefix: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="producer", cascade="all, delete-orphan"
    )
    products: Mapped[list[Product]] = relationship(back_populates="producer")


class Membership(db.Model):
    """A user's role at a producer. Removing a helper ends the membership (kept for history)."""

    __tablename__ = "membership"
    __table_args__ = (
        Index(
            "uq_membership_active",
            "user_id",
            "producer_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(
        ForeignKey("producer.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    producer: Mapped[Producer] = relationship(back_populates="memberships")


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class MemberInvitation(db.Model):
    """A manager's invitation to a phone number. Nothing about an account is looked up or shown
    to the inviter; the person signs in with that number and accepts (or declines) it."""

    __tablename__ = "member_invitation"
    __table_args__ = (
        Index(
            "uq_member_invitation_pending",
            "producer_id",
            "phone",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(
        ForeignKey("producer.id", ondelete="CASCADE"), index=True
    )
    phone: Mapped[str] = mapped_column(String(16), index=True)  # E.164
    name: Mapped[str] = mapped_column(String(120), default="")  # the inviter's own label
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=InvitationStatus.PENDING)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]

    producer: Mapped[Producer] = relationship()


class OcopCategory(db.Model):
    """OCOP product groups (6) and their sub-groups: seeded reference data."""

    __tablename__ = "ocop_category"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("ocop_category.code"))
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)


class Product(db.Model):
    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        Index("ix_product_status_producer", "status", "producer_id"),
        Index("ix_product_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="RESTRICT"))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    description_vi: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    category_code: Mapped[str | None] = mapped_column(ForeignKey("ocop_category.code"))
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)  # stored as GTIN-14
    status: Mapped[str] = mapped_column(String(12), default=ProductStatus.DRAFT)
    search_text: Mapped[str] = mapped_column(Text, default="")  # accent-folded, for search
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None]

    producer: Mapped[Producer] = relationship(back_populates="products")
    category: Mapped[OcopCategory | None] = relationship()
    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Variant.position"
    )
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductImage.position"
    )
    certificates: Mapped[list[OcopCertificate]] = relationship(
        back_populates="product", order_by="OcopCertificate.decision_date.desc()"
    )


class Variant(db.Model):
    """A pack size with its own price: 'thùng 5 kg' at 250.000 ₫. Stock is held per lot later."""

    __tablename__ = "variant"
    __table_args__ = (
        UniqueConstraint("producer_id", "sku"),
        CheckConstraint("price_vnd >= 0", name="price_not_negative"),
        CheckConstraint("pack_size > 0", name="pack_size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(120))
    pack_size: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit: Mapped[str] = mapped_column(String(16))
    price_vnd: Mapped[int]
    weight_grams: Mapped[int | None]
    sku: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship(back_populates="variants")


class ProductImage(db.Model):
    __tablename__ = "product_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(32), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    alt: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(back_populates="images")


class RuleSet(enum.StrEnum):
    QD_1048_2019 = "1048/2019"  # parts A/B/C out of 35/25/40
    QD_148_2023 = "148/2023"  # parts A/B/C out of 40/25/35


class CertificateStatus(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"


class OcopCertificate(db.Model):
    __tablename__ = "ocop_certificate"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 3 AND 5", name="stars_recognised"),
        CheckConstraint("total_score >= 0 AND total_score <= 100", name="score_range"),
        CheckConstraint("status IN ('valid', 'expired', 'revoked')", name="status"),
        Index("ix_ocop_certificate_product_status", "product_id", "status"),
        Index("ix_ocop_certificate_valid_until", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="RESTRICT"))
    producer_id: Mapped[int] = mapped_column(
        ForeignKey("producer.id", ondelete="RESTRICT"), index=True
    )
    decision_number: Mapped[str] = mapped_column(String(64))
    decision_date: Mapped[date]
    issuing_authority: Mapped[str] = mapped_column(String(200))  # as written: names change
    rating_level: Mapped[str] = mapped_column(String(16))  # district | province | central
    rule_set: Mapped[str] = mapped_column(String(12))
    stars: Mapped[int]
    total_score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    score_a: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    score_b: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    score_c: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    category_code: Mapped[str | None] = mapped_column(ForeignKey("ocop_category.code"))
    valid_until: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default=CertificateStatus.VALID)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("ocop_evaluation.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(back_populates="certificates")


class EvaluationStatus(enum.StrEnum):
    SUBMITTED = "submitted"  # producer sent the dossier
    SCORED = "scored"  # a council member scored A/B/C; stars proposed
    DECIDED = "decided"  # decision recorded; certificate issued when 3–5★
    WITHDRAWN = "withdrawn"


class OcopEvaluation(db.Model):
    __tablename__ = "ocop_evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="RESTRICT"), index=True
    )
    producer_id: Mapped[int] = mapped_column(
        ForeignKey("producer.id", ondelete="RESTRICT"), index=True
    )
    province_code: Mapped[int] = mapped_column(index=True)
    rule_set: Mapped[str] = mapped_column(String(12), default=RuleSet.QD_148_2023)
    status: Mapped[str] = mapped_column(String(12), default=EvaluationStatus.SUBMITTED)
    note: Mapped[str] = mapped_column(Text, default="")
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    score_a: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    score_b: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    score_c: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    total_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    proposed_stars: Mapped[int | None]
    scored_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    scored_at: Mapped[datetime | None]
    council_level: Mapped[str | None] = mapped_column(String(16))
    decision_number: Mapped[str | None] = mapped_column(String(64))
    decision_date: Mapped[date | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]

    product: Mapped[Product] = relationship()
