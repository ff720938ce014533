"""Who may act for a producer: managers invite members and community helpers by phone (the
person accepts after signing in with that number), change roles, remove people. A household may
remove its helper at any time; a producer never loses its last manager.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from accounts.models import User
from accounts.outbox import queue_message
from cooperatives.access import Acting
from cooperatives.labels import ROLE_LABELS
from cooperatives.models import (
    InvitationStatus,
    MemberInvitation,
    MemberRole,
    Membership,
    Producer,
)
from cooperatives.producers import audit, clean_text
from core.db import db, utcnow
from core.errors import Forbidden, Invalid, NotFound
from core.phones import display_phone, normalize_phone
from core.urls import public_url

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


def attribution(user_id: int | None, producer_id: int) -> tuple[str, bool] | None:
    """Who entered something for a producer, and whether as one of its community helpers (a
    helper's work is attributed wherever it is shown); None when nobody is known."""
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None:
        return None
    helper = db.session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id,
            Membership.producer_id == producer_id,
            Membership.role == MemberRole.HELPER,
        )
    )
    return user.name, helper is not None


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


INVITATIONS_PER_DAY = 20  # per producer: every invitation is a text message


def _check_invitation(phone: str, role: str, name: str) -> tuple[str, str]:
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
    assert normalised is not None
    return normalised, name


def invite_member(acting: Acting, phone: str, role: str, name: str = "") -> MemberInvitation:
    """Invite a phone number to join the producer. Nothing about any account with that number
    is looked up for, or shown to, the inviter: the person signs in with that number and
    accepts. `name` is the inviter's own label for the invitation."""
    normalised, name = _check_invitation(phone, role, name)
    if acting.role != MemberRole.MANAGER:
        raise Forbidden()
    producer_id = acting.producer.id
    _lock_producer(producer_id)
    member = db.session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.producer_id == producer_id,
            Membership.ended_at.is_(None),
            User.phone == normalised,
        )
    )
    if member is not None:  # the members list already shows them to this manager
        raise Invalid(fields={"phone": _l("Người có số điện thoại này đã ở trong danh sách.")})
    pending = db.session.scalar(
        select(MemberInvitation.id).where(
            MemberInvitation.producer_id == producer_id,
            MemberInvitation.phone == normalised,
            MemberInvitation.status == InvitationStatus.PENDING,
        )
    )
    if pending is not None:
        raise Invalid(fields={"phone": _l("Đã mời số này; đang chờ người đó nhận lời.")})
    today = db.session.scalar(
        select(func.count(MemberInvitation.id)).where(
            MemberInvitation.producer_id == producer_id,
            MemberInvitation.created_at > utcnow() - timedelta(days=1),
        )
    )
    if (today or 0) >= INVITATIONS_PER_DAY:
        raise Invalid(
            fields={
                "phone": _l(
                    "Mỗi ngày cơ sở gửi được tối đa %(n)s lời mời. Vui lòng thử lại vào ngày mai.",
                    n=INVITATIONS_PER_DAY,
                )
            }
        )
    invitation = MemberInvitation(
        producer_id=producer_id,
        phone=normalised,
        name=name,
        role=role,
        invited_by_id=acting.user.id,
    )
    db.session.add(invitation)
    db.session.flush()
    with force_locale("vi"):  # the person invited reads Vietnamese; we know nothing else of them
        body = _(
            "Chợ Quê: %(producer)s mời bạn tham gia làm %(role)s. Đăng nhập bằng số này tại "
            "%(url)s để nhận hoặc từ chối lời mời.",
            producer=acting.producer.name,
            role=str(ROLE_LABELS.get(role, role)),
            url=public_url("/manage"),
        )
    queue_message("sms", normalised, body)
    audit(
        acting.user.id,
        acting.role,
        producer_id,
        "member.invite",
        "member_invitation",
        invitation.id,
        {"phone": display_phone(normalised), "role": role},
    )
    return invitation


def pending_invitations_of(producer_id: int) -> list[MemberInvitation]:
    return list(
        db.session.scalars(
            select(MemberInvitation)
            .where(
                MemberInvitation.producer_id == producer_id,
                MemberInvitation.status == InvitationStatus.PENDING,
            )
            .order_by(MemberInvitation.created_at, MemberInvitation.id)
        )
    )


def invitations_for(user: User) -> list[MemberInvitation]:
    """Pending invitations to the user's own phone number."""
    if not user.phone:
        return []
    return list(
        db.session.scalars(
            select(MemberInvitation)
            .where(
                MemberInvitation.phone == user.phone,
                MemberInvitation.status == InvitationStatus.PENDING,
            )
            .options(joinedload(MemberInvitation.producer))
            .order_by(MemberInvitation.created_at, MemberInvitation.id)
        )
    )


def _invitation_to(user: User, invitation_id: int) -> MemberInvitation:
    invitation = db.session.get(MemberInvitation, invitation_id)
    if (
        invitation is None
        or not user.phone
        or invitation.phone != user.phone
        or invitation.status != InvitationStatus.PENDING
    ):
        raise NotFound()
    return invitation


def accept_invitation(user: User, invitation_id: int) -> Membership:
    """The invited person joins with the invited role."""
    invitation = _invitation_to(user, invitation_id)
    _lock_producer(invitation.producer_id)
    db.session.refresh(invitation)
    if invitation.status != InvitationStatus.PENDING:
        raise NotFound()
    invitation.status = InvitationStatus.ACCEPTED
    invitation.responded_at = utcnow()
    membership = db.session.scalar(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.producer_id == invitation.producer_id,
            Membership.ended_at.is_(None),
        )
    )
    if membership is not None:
        return membership
    membership = Membership(
        user_id=user.id,
        producer_id=invitation.producer_id,
        role=invitation.role,
        invited_by_id=invitation.invited_by_id,
    )
    db.session.add(membership)
    db.session.flush()
    audit(
        user.id,
        invitation.role,
        invitation.producer_id,
        "member.join",
        "membership",
        membership.id,
        {"name": user.name, "role": invitation.role, "user_id": user.id},
    )
    return membership


def decline_invitation(user: User, invitation_id: int) -> MemberInvitation:
    invitation = _invitation_to(user, invitation_id)
    invitation.status = InvitationStatus.DECLINED
    invitation.responded_at = utcnow()
    audit(
        user.id,
        "",
        invitation.producer_id,
        "member.decline",
        "member_invitation",
        invitation.id,
        {"role": invitation.role},
    )
    db.session.flush()
    return invitation


def cancel_invitation(acting: Acting, invitation_id: int) -> MemberInvitation:
    if acting.role != MemberRole.MANAGER:
        raise Forbidden()
    invitation = db.session.get(MemberInvitation, invitation_id)
    if (
        invitation is None
        or invitation.producer_id != acting.producer.id
        or invitation.status != InvitationStatus.PENDING
    ):
        raise NotFound()
    invitation.status = InvitationStatus.CANCELLED
    invitation.responded_at = utcnow()
    audit(
        acting.user.id,
        acting.role,
        acting.producer.id,
        "member.cancel",
        "member_invitation",
        invitation.id,
        {"phone": display_phone(invitation.phone)},
    )
    db.session.flush()
    return invitation


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
