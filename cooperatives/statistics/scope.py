"""Who sees which figures on the statistics pages.

- Platform admin and the central OCOP council: every province.
- A provincial council member: the provinces of their seats.
- A cooperative manager: their own producer only (several producers: one at a time, ?producer=).
- Everyone else signed in (members, helpers): nothing (404). The open-data page /stats is
  separate and counts only.

A province or producer outside the viewer's scope answers 404, as elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from accounts.models import User
from cooperatives.models import MemberRole, Membership, Producer
from cooperatives.ocop.council import council_scope
from core import places
from core.db import db
from core.errors import NotFound
from core.numbers import parse_id, parse_int


@dataclass(frozen=True)
class Viewer:
    role: str  # admin | council | manager
    provinces: frozenset[int] | None  # None: every province
    producer: Producer | None = None  # the manager's producer being looked at
    producers: tuple[Producer, ...] = ()  # every producer the manager manages

    def covers(self, province_code: int) -> bool:
        if self.producer is not None:
            return province_code == self.producer.province_code
        return self.provinces is None or province_code in self.provinces

    def province_choices(self) -> list[places.Place]:
        if self.producer is not None:
            place = places.province(self.producer.province_code)
            return [place] if place else []
        return [p for p in places.provinces() if self.provinces is None or p.code in self.provinces]


def _managed(user: User) -> list[Producer]:
    return list(
        db.session.scalars(
            select(Producer)
            .join(Membership, Membership.producer_id == Producer.id)
            .where(
                Membership.user_id == user.id,
                Membership.ended_at.is_(None),
                Membership.role == MemberRole.MANAGER,
            )
            .order_by(Producer.name, Producer.id)
        )
    )


def viewer_for(user: Any, args: Any) -> Viewer:
    """The signed-in user's view, from their roles and ?producer=; NotFound when they have none."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotFound()
    raw_producer = args.get("producer")
    if raw_producer is None or raw_producer == "":
        scope = council_scope(user)
        if scope is not None:
            if scope.everywhere:
                return Viewer("admin" if scope.admin else "council", None)
            return Viewer("council", frozenset(scope.province_codes))
    managed = _managed(user)
    if not managed:
        raise NotFound()
    chosen = managed[0]
    if raw_producer:
        wanted = parse_id(raw_producer)
        chosen = next((p for p in managed if p.id == wanted), None)
        if chosen is None:
            raise NotFound()
    return Viewer("manager", frozenset({chosen.province_code}), chosen, tuple(managed))


def chosen_province(viewer: Viewer | None, args: Any) -> int | None:
    """?province=<code>: a 2025 province the viewer may see (None when absent); NotFound else."""
    raw = args.get("province")
    if raw is None or raw == "":
        return None
    code = parse_int(raw, minimum=1, maximum=999)
    if code is None or places.province(code) is None:
        raise NotFound()
    if viewer is not None and not viewer.covers(code):
        raise NotFound()
    return code


def chosen_stars(args: Any) -> int | None:
    """?map=3|4|5 (products of that many stars) or all (None); anything else is all."""
    value = parse_int(args.get("map"), minimum=3, maximum=5)
    return value
