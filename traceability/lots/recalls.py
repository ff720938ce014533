"""Recalls: a producer manager or an authority recalls a lot; every lot made from it follows.

Each recalled lot gets a trace event (disposition `recalled`) and its status changes at once, so
every stamp of it warns on the next scan. `signals.batch_recalled` lets the shop find buyers.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from accounts import audit
from accounts.models import CouncilLevel, CouncilSeat, User
from cooperatives.access import active_membership
from cooperatives.models import MemberRole, Producer
from core.db import db, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.text import clean_multiline
from traceability import signals
from traceability.lots.event_kinds import EventKind
from traceability.lots.events import append_locked, lock_batch
from traceability.lots.lineage import descendant_ids
from traceability.models import Batch, BatchStatus

MIN_REASON = 5
MAX_REASON = 1000


def recall_authority(user: User | None, producer: Producer) -> str | None:
    """The role in which `user` may recall this producer's lots, or None.

    A manager of the producer; a platform admin; an OCOP council member whose seat covers the
    producer's province (a central seat covers every province)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.is_platform_admin:
        return "admin"
    membership = active_membership(user.id, producer.id)
    if membership is not None and membership.role == MemberRole.MANAGER:
        return MemberRole.MANAGER
    seat = db.session.scalar(
        select(CouncilSeat.id).where(
            CouncilSeat.user_id == user.id,
            (CouncilSeat.level == CouncilLevel.CENTRAL)
            | (
                (CouncilSeat.level == CouncilLevel.PROVINCE)
                & (CouncilSeat.province_code == producer.province_code)
            ),
        )
    )
    return "council" if seat is not None else None


def lot_for_authority(user: User | None, batch_id: int) -> tuple[Batch, str]:
    """A lot this user may recall from the authorities' page, and the role they act in; 404
    for a lot that does not exist or that they have no authority over (nothing is revealed)."""
    batch = db.session.get(Batch, batch_id)
    if batch is None:
        raise NotFound()
    role = recall_authority(user, batch.producer)
    if role is None:
        raise NotFound()
    return batch, role


@dataclass(frozen=True)
class RecallResult:
    origin_id: int
    batch_ids: tuple[int, ...]  # the origin first, then its descendants that were recalled now
    already_recalled: tuple[int, ...]  # descendants recalled earlier (left as they were)


# Long on purpose: one recall is one ordered sequence under locks (lots, events, stamps, signal).
def recall_batch(
    batch_id: int, *, reason: str, actor_id: int | None, actor_role: str
) -> RecallResult:
    """Recall a lot and, recursively, every lot made from it. The caller has authorised the
    actor (see recall_authority) and commits."""
    reason = clean_multiline(reason)
    if len(reason) < MIN_REASON:
        raise Invalid(
            _("Vui lòng ghi rõ lý do thu hồi."),
            fields={"reason": _("Ghi lý do thu hồi (ít nhất %(n)s ký tự).", n=MIN_REASON)},
        )
    if len(reason) > MAX_REASON:
        raise Invalid(fields={"reason": _("Tối đa %(n)s ký tự.", n=MAX_REASON)})
    origin = db.session.get(Batch, batch_id)
    if origin is None:
        raise NotFound(_("Không tìm thấy lô hàng."))
    if origin.status == BatchStatus.RECALLED:
        raise Conflict(_("Lô %(lot)s đã bị thu hồi.", lot=origin.lot_code))

    now = utcnow()
    recalled: list[int] = []
    skipped: list[int] = []
    # Lock in ascending id order so two overlapping recalls cannot deadlock.
    targets = [origin.id, *descendant_ids(origin.id)]
    for target_id in sorted(targets):
        batch = lock_batch(target_id)
        if batch.status == BatchStatus.RECALLED:
            if target_id == origin.id:
                raise Conflict(_("Lô %(lot)s đã bị thu hồi.", lot=batch.lot_code))
            skipped.append(target_id)
            continue
        batch.status = BatchStatus.RECALLED
        batch.recalled_at = now
        batch.recall_reason = reason
        batch.recalled_by_id = actor_id
        batch.recall_origin_id = origin.id
        append_locked(
            batch,
            EventKind.RECALLING,
            event_time=now,
            location_ward_code=batch.origin_ward_code,
            details={
                "reason": reason,
                "origin_batch_id": origin.id,
                "origin_lot_code": origin.lot_code,
            },
            recorded_by_id=actor_id,
        )
        audit.record(
            actor_id,
            "batch.recall",
            producer_id=batch.producer_id,
            actor_role=actor_role,
            subject_type="batch",
            subject_id=batch.id,
            summary=_("Thu hồi lô %(lot)s: %(reason)s", lot=batch.lot_code, reason=reason),
            details={"origin_batch_id": origin.id, "reason": reason},
        )
        recalled.append(target_id)
    ordered = [origin.id, *[i for i in targets if i in recalled and i != origin.id]]
    signals.batch_recalled.send(
        "traceability",
        batch_ids=ordered,
        origin_id=origin.id,
        reason=reason,
        recalled_by_id=actor_id,
    )
    return RecallResult(
        origin_id=origin.id, batch_ids=tuple(ordered), already_recalled=tuple(skipped)
    )
