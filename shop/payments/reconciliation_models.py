"""Bank transfers received on the collecting account, the statements they came from, and each
uploader's remembered column mapping per bank.

A transfer is recorded once per (bank, transaction key): the key is the bank's transaction id
when the statement or notification has one, else a hash of date, amount, description and line.
The unique constraint is what makes a second upload (or two at once) apply nothing twice.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow


class TransferStatus(enum.StrEnum):
    MATCHED = "matched"  # exact amount: the order is paid
    UNMATCHED = "unmatched"  # no order reference found (or not one this uploader may see)
    PARTIAL = "partial"  # less than the order's amount: a person decides
    OVER = "over"  # more than due, or the order was already paid: a person refunds
    LATE = "late"  # the order was cancelled (expired) before the money came
    RESOLVED = "resolved"  # a person handled a flagged or unmatched transfer


FLAGGED = (TransferStatus.PARTIAL, TransferStatus.OVER, TransferStatus.LATE)


class StatementProfile(db.Model):
    """The columns one person chose for one bank's export: asked once, then remembered."""

    __tablename__ = "bank_statement_profile"
    __table_args__ = (UniqueConstraint("owner_id", "bank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    bank: Mapped[str] = mapped_column(String(40))
    mapping: Mapped[str] = mapped_column(Text)  # JSON: {"date": header, "credit": header, …}
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StatementUpload(db.Model):
    """One uploaded statement: kept until its columns are chosen, then the import's summary."""

    __tablename__ = "bank_statement_upload"
    __table_args__ = (Index("ix_bank_statement_upload_producer", "producer_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    producer_id: Mapped[int | None] = mapped_column(  # None: the platform (every order)
        ForeignKey("producer.id", ondelete="CASCADE")
    )
    bank: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[str] = mapped_column(Text)
    # pending (columns not chosen) → queued (a large file, imported by the background task)
    # → imported. A small file goes from pending to imported in the request.
    status: Mapped[str] = mapped_column(String(12), default="pending")
    mapping: Mapped[str] = mapped_column(Text, default="", server_default="")  # JSON columns
    lines_total: Mapped[int] = mapped_column(default=0)
    applied: Mapped[int] = mapped_column(default=0)
    flagged: Mapped[int] = mapped_column(default=0)
    unmatched: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    errors: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [[line, message], …]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_at: Mapped[datetime | None]


class BankTransfer(db.Model):
    """Money received on the collecting account, from a statement line or a notification."""

    __tablename__ = "bank_transfer"
    __table_args__ = (
        UniqueConstraint("bank", "txn_key"),
        Index("ix_bank_transfer_status", "status", "id"),
        Index("ix_bank_transfer_order", "order_id"),
        Index("ix_bank_transfer_producer", "producer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bank: Mapped[str] = mapped_column(String(40))
    txn_key: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(12))  # statement | webhook
    upload_id: Mapped[int | None] = mapped_column(
        ForeignKey("bank_statement_upload.id", ondelete="SET NULL")
    )
    line_no: Mapped[int | None]
    producer_id: Mapped[int | None] = mapped_column(  # who brought it (None: the platform)
        ForeignKey("producer.id", ondelete="CASCADE")
    )
    booked_on: Mapped[date]
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_order.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
