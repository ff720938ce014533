"""Batches (lots), their lineage, trace events (EPCIS meaning, hash-chained), stamps and scans."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cooperatives.models import Producer, Product
from core.db import db, utcnow


class BatchStatus(enum.StrEnum):
    ACTIVE = "active"
    RECALLED = "recalled"


class Batch(db.Model):
    """A lot: what one harvest or production run made. Stock will be held per lot (shop)."""

    __tablename__ = "batch"
    __table_args__ = (
        UniqueConstraint("producer_id", "lot_code"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(
        ForeignKey("producer.id", ondelete="RESTRICT"), index=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="RESTRICT"), index=True
    )
    lot_code: Mapped[str] = mapped_column(String(20))  # GS1 AI 10: up to 20 characters
    produced_on: Mapped[date]  # harvest or production date
    best_before: Mapped[date | None]
    expires_on: Mapped[date | None]
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    unit: Mapped[str] = mapped_column(String(16))
    origin_province_code: Mapped[int | None]
    origin_ward_code: Mapped[int | None]
    origin_text: Mapped[str] = mapped_column(String(300), default="")  # as written, for old units
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    standards: Mapped[list[str]] = mapped_column(JSON, default=list)  # VietGAP, hữu cơ, TCCS…
    inputs_used: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default=BatchStatus.ACTIVE)
    recalled_at: Mapped[datetime | None]
    recall_reason: Mapped[str | None] = mapped_column(Text)
    recalled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    recall_origin_id: Mapped[int | None] = mapped_column(
        ForeignKey("batch.id")
    )  # lot that started it
    chain_head: Mapped[str | None] = mapped_column(String(64))  # hash of the newest event
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    producer: Mapped[Producer] = relationship()
    product: Mapped[Product] = relationship()
    events: Mapped[list[TraceEvent]] = relationship(
        back_populates="batch", order_by="TraceEvent.seq", foreign_keys="TraceEvent.batch_id"
    )
    images: Mapped[list[BatchImage]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="BatchImage.position"
    )


class BatchInput(db.Model):
    """Lineage: `child` was made from `parent` (raw lot → packed lot; several lots → one blend)."""

    __tablename__ = "batch_input"
    __table_args__ = (
        UniqueConstraint("child_id", "parent_id"),
        CheckConstraint("child_id <> parent_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    unit: Mapped[str | None] = mapped_column(String(16))


class BatchImage(db.Model):
    __tablename__ = "batch_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)

    batch: Mapped[Batch] = relationship(back_populates="images")


class TraceEvent(db.Model):
    """An append-only EPCIS event of one batch. A correction is a new event pointing at the old.

    `hash` = SHA-256 over the canonical content plus `prev_hash` (the batch's previous event).
    """

    __tablename__ = "trace_event"
    __table_args__ = (UniqueConstraint("batch_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="RESTRICT"))
    seq: Mapped[int]
    event_type: Mapped[str] = mapped_column(String(32))  # ObjectEvent, TransformationEvent…
    action: Mapped[str | None] = mapped_column(String(8))  # ADD | OBSERVE | DELETE
    kind: Mapped[str] = mapped_column(String(24))  # planting, harvesting, inspecting, packing…
    biz_step: Mapped[str] = mapped_column(String(120))
    disposition: Mapped[str | None] = mapped_column(String(120))
    event_time: Mapped[datetime]
    event_tz_offset: Mapped[str] = mapped_column(String(6), default="+07:00")
    location_ward_code: Mapped[int | None]
    location_text: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    corrects_event_id: Mapped[int | None] = mapped_column(ForeignKey("trace_event.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    batch: Mapped[Batch] = relationship(back_populates="events", foreign_keys=[batch_id])


class StampState(enum.StrEnum):
    NEW = "new"  # printed, not yet activated: never shown as genuine
    ACTIVE = "active"
    VOID = "void"


class StampRun(db.Model):
    """An order of N stamps. Serials are sequential per producer across runs."""

    __tablename__ = "stamp_run"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(
        ForeignKey("producer.id", ondelete="RESTRICT"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id", ondelete="RESTRICT"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id", ondelete="RESTRICT"))
    quantity: Mapped[int]
    first_serial: Mapped[int] = mapped_column(BigInteger)
    last_serial: Mapped[int] = mapped_column(BigInteger)
    with_pin: Mapped[bool] = mapped_column(default=False)
    # GS1 Digital Link identifiers printed into this run's QR codes, fixed when it is ordered
    # (a printed URL never changes, even if the product's GTIN does); NULL: /s/<code> URLs.
    dl_gtin: Mapped[str | None] = mapped_column(String(14), index=True)
    dl_lot: Mapped[str | None] = mapped_column(String(20))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    producer: Mapped[Producer] = relationship()
    product: Mapped[Product | None] = relationship()


class Stamp(db.Model):
    __tablename__ = "stamp"
    __table_args__ = (
        UniqueConstraint("producer_id", "serial"),
        Index("ix_stamp_run_serial", "run_id", "serial"),
        Index("ix_stamp_batch", "batch_id"),
        Index("ix_stamp_dl_serial", "dl_serial", unique=True),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("stamp_run.id", ondelete="RESTRICT"))
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="RESTRICT"))
    serial: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    # AI 21 of the GS1 Digital Link printed on the stamp: random, not guessable (runs ordered
    # since this column exists); NULL on older Digital Link runs, whose links carry `serial`.
    dl_serial: Mapped[str | None] = mapped_column(String(20))
    pin_hash: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(8), default=StampState.NEW)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id", ondelete="RESTRICT"))
    activated_at: Mapped[datetime | None]
    activated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(String(300))
    scan_count: Mapped[int] = mapped_column(default=0)
    first_scanned_at: Mapped[datetime | None]
    last_scanned_at: Mapped[datetime | None]
    pin_verified_at: Mapped[datetime | None]

    run: Mapped[StampRun] = relationship()
    batch: Mapped[Batch | None] = relationship()


class Scan(db.Model):
    """One scan of a stamp. Coarse client facts only: no full IP address is kept."""

    __tablename__ = "scan"
    __table_args__ = (Index("ix_scan_stamp_at", "stamp_id", "scanned_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True
    )
    stamp_id: Mapped[int] = mapped_column(ForeignKey("stamp.id", ondelete="CASCADE"))
    scanned_at: Mapped[datetime] = mapped_column(default=utcnow)
    network: Mapped[str] = mapped_column(String(48), default="")  # /24 (IPv4) or /48 (IPv6)
    client: Mapped[str] = mapped_column(String(32), default="")  # browser family, coarse
    via: Mapped[str] = mapped_column(String(8), default="code")  # code | dl (Digital Link)
