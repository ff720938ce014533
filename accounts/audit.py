"""The audit log: every change records who made it and for whom."""

from __future__ import annotations

from typing import Any

from accounts.models import AuditEntry
from core.db import db


def record(
    actor_id: int | None,
    action: str,
    *,
    producer_id: int | None = None,
    actor_role: str = "",
    subject_type: str = "",
    subject_id: int | None = None,
    summary: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the current unit of work (the caller's commit saves it)."""
    entry = AuditEntry(
        actor_id=actor_id,
        actor_role=actor_role,
        producer_id=producer_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        summary=summary[:300],
        details=details or {},
    )
    db.session.add(entry)
    return entry
