"""Who may act for a producer: managers add members and community helpers by phone, change roles,
remove people. A household may remove its helper at any time; a producer never loses its last
manager.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from accounts.models import User
from accounts.services import create_user
from cooperatives.access import Acting
from cooperatives.models import MemberRole, Membership, Producer
from cooperatives.producers import audit, clean_text
from core.db import db, utcnow
from core.errors import Forbidden, Invalid, NotFound
from core.phones import display_phone, normalize_phone

NAME_MAX = 120


def active_members(producer_id: int) -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership)
            .where(Membership.producer_id == producer_id, Membership.ended_at.is_(None))
            .options(joinedload(Membership.user))
            .order_by(Membership.created_at, Membership.id)
        )
    )


def _membership_of(acting: Acting, membership_id: int) -> Membership:
    membership = db.session.scalar(
        select(Membership).where(
            Membership.id == membership_id,
            Membership.producer_id == acting.producer.id,
            Membership.ended_at.is_(None),
        )
    )
    if membership is None:
        raise NotFound()
    return membership


def _lock_producer(producer_id: int) -> None:
    """Serialise membership changes of one producer (two managers demoting each other at once)."""
    db.session.execute(select(Producer.id).where(Producer.id == producer_id).with_for_update())


def _other_managers(producer_id: int, excluding: int) -> int:
    return (
        db.session.scalar(
            select(func.count(Membership.id)).where(
                Membership.producer_id == producer_id,
                Membership.ended_at.is_(None),
                Membership.role == MemberRole.MANAGER,
                Membership.id != excluding,
            )
        )
        or 0
    )


def add_member(acting: Acting, phone: str, role: str, name: str = "") -> Membership:
    """Invite someone by phone; a passwordless account is made for a new number (they sign in
    with a one-time code)."""
    errors = {}
    normalised = normalize_phone(clean_text(phone))
    if normalised is None:
        errors["phone"] = _l("Số điện thoại Việt Nam chưa đúng (ví dụ 0912 345 678).")
    if role not in set(MemberRole):
        errors["role"] = _l("Vui lòng chọn vai trò.")
    name = clean_text(name)
    if len(name) > NAME_MAX:
        errors["name"] = _l("Tên dài quá %(n)s ký tự.", n=NAME_MAX)
    if errors:
        raise Invalid(fields=errors)
    if acting.role != MemberRole.MANAGER:
        raise Forbidden()
    producer_id = acting.producer.id
    _lock_producer(producer_id)
    user = db.session.scalar(select(User).where(User.phone == normalised))
    if user is None:  # no password: they sign in with a one-time code sent to this phone
        user = create_user(name or display_phone(normalised), phone=normalised)
        db.session.flush()
    existing = db.session.scalar(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.producer_id == producer_id,
            Membership.ended_at.is_(None),
        )
    )
    if existing is not None:
        raise Invalid(fields={"phone": _l("Người có số điện thoại này đã ở trong danh sách.")})
    membership = Membership(
        user_id=user.id, producer_id=producer_id, role=role, invited_by_id=acting.user.id
    )
    db.session.add(membership)
    db.session.flush()
    audit(
        acting.user.id,
        acting.role,
        producer_id,
        "member.add",
        "membership",
        membership.id,
        {"name": user.name, "role": role, "user_id": user.id},
    )
    return membership


def change_role(acting: Acting, membership_id: int, role: str) -> Membership:
    if role not in set(MemberRole):
        raise Invalid(fields={"role": _l("Vui lòng chọn vai trò.")})
    if acting.role != MemberRole.MANAGER:
        raise Forbidden()
    _lock_producer(acting.producer.id)
    membership = _membership_of(acting, membership_id)
    if membership.role == role:
        return membership
    if membership.role == MemberRole.MANAGER and not _other_managers(
        acting.producer.id, membership.id
    ):
        raise Invalid(_l("Cơ sở cần ít nhất một người quản lý. Hãy thêm người quản lý khác trước."))
    membership.role = role
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "member.role",
        "membership",
        membership.id,
        {"name": membership.user.name, "role": role, "user_id": membership.user_id},
    )
    db.session.flush()
    return membership


def may_remove(acting: Acting, membership: Membership) -> bool:
    """Managers remove anyone; anyone may leave; a household member may remove a helper."""
    return (
        acting.role == MemberRole.MANAGER
        or membership.user_id == acting.user.id
        or (acting.role == MemberRole.MEMBER and membership.role == MemberRole.HELPER)
    )


def end_membership(acting: Acting, membership_id: int) -> Membership:
    """End a membership (kept for history). The person loses access on their next request."""
    _lock_producer(acting.producer.id)
    membership = _membership_of(acting, membership_id)
    if not may_remove(acting, membership):
        raise Forbidden()
    if membership.role == MemberRole.MANAGER and not _other_managers(
        acting.producer.id, membership.id
    ):
        raise Invalid(_l("Cơ sở cần ít nhất một người quản lý. Hãy thêm người quản lý khác trước."))
    membership.ended_at = utcnow()
    leaving = membership.user_id == acting.user.id
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "member.leave" if leaving else "member.remove",
        "membership",
        membership.id,
        {"name": membership.user.name, "role": membership.role, "user_id": membership.user_id},
    )
    db.session.flush()
    return membership
