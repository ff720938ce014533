"""Object-level authorisation for producer data.

A user sees a producer's private records only through an active membership (manager, member, or an
invited community helper). Outsiders get 404, not 403, so ids of other producers reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from accounts.models import User
from cooperatives.models import MemberRole, Membership, Producer
from core.db import db
from core.errors import Forbidden, NotFound

ALL_ROLES = frozenset(MemberRole)
EDITORS = frozenset({MemberRole.MANAGER, MemberRole.MEMBER, MemberRole.HELPER})
MANAGERS = frozenset({MemberRole.MANAGER})


@dataclass(frozen=True)
class Acting:
    """Who acts, for which producer, in which role: what the audit log records."""

    user: User
    producer: Producer
    role: str

    @property
    def is_helper(self) -> bool:
        return self.role == MemberRole.HELPER


def active_membership(user_id: int, producer_id: int) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(
            Membership.user_id == user_id,
            Membership.producer_id == producer_id,
            Membership.ended_at.is_(None),
        )
    )


def producers_of(user_id: int) -> list[tuple[Producer, str]]:
    """The producers a user may act for, with their role, for the producer switcher."""
    rows = db.session.execute(
        select(Producer, Membership.role)
        .join(Membership, Membership.producer_id == Producer.id)
        .where(Membership.user_id == user_id, Membership.ended_at.is_(None))
        .order_by(Producer.name)
    )
    return [(producer, role) for producer, role in rows]


def require_member(user: User | None, producer_id: int, roles: frozenset[str] = EDITORS) -> Acting:
    """Raise NotFound unless `user` is an active member of the producer, Forbidden if the role
    is not enough. Platform admins act as managers."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotFound()
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise NotFound()
    if user.is_platform_admin:
        return Acting(user=user, producer=producer, role=MemberRole.MANAGER)
    membership = active_membership(user.id, producer_id)
    if membership is None:
        raise NotFound()
    if membership.role not in roles:
        raise Forbidden()
    return Acting(user=user, producer=producer, role=membership.role)


def current_acting(producer_id: int, roles: frozenset[str] = EDITORS) -> Acting:
    """For views: the signed-in user acting for this producer (404 for outsiders)."""
    from flask import g
    from flask_login import current_user

    acting = require_member(current_user._get_current_object(), producer_id, roles)
    g.acting = acting  # the page's "acting for" banner reads it instead of asking again
    return acting
