"""Platform-wide roles: platform admin and OCOP council seats.

Producer roles (manager, member, community helper) are memberships of a producer and live in
cooperatives (cooperatives.access.require_member).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from accounts.login import login_manager
from accounts.models import CouncilLevel, CouncilSeat, User
from core.db import db
from core.errors import Forbidden, Invalid
from core.places import province

F = TypeVar("F", bound=Callable[..., Any])


def _signed_in(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def is_admin(user: Any) -> bool:
    return _signed_in(user) and bool(user.is_platform_admin) and bool(user.is_active)


def council_seats(user: Any) -> list[CouncilSeat]:
    if not _signed_in(user):
        return []
    return list(
        db.session.scalars(
            select(CouncilSeat).where(CouncilSeat.user_id == user.id).order_by(CouncilSeat.id)
        )
    )


def is_council_member(user: Any) -> bool:
    return bool(council_seats(user))


def council_provinces(user: Any) -> set[int]:
    """Province codes where the user sits on the provincial council."""
    return {
        seat.province_code
        for seat in council_seats(user)
        if seat.level == CouncilLevel.PROVINCE and seat.province_code is not None
    }


def has_central_seat(user: Any) -> bool:
    return any(seat.level == CouncilLevel.CENTRAL for seat in council_seats(user))


def can_council(user: Any, province_code: int | None, level: str) -> bool:
    """May `user` act for the OCOP council of `level` (province: 3★/4★ in that province;
    central: 5★, any province)? A platform admin is not a council member by that fact alone."""
    if level == CouncilLevel.CENTRAL:
        return has_central_seat(user)
    if level == CouncilLevel.PROVINCE:
        return province_code is not None and province_code in council_provinces(user)
    return False


def require_council(user: Any, province_code: int | None, level: str) -> None:
    if not can_council(user, province_code, level):
        raise Forbidden(_l("Chỉ thành viên hội đồng OCOP đúng cấp mới làm được việc này."))


def add_council_seat(user: User, level: str, province_code: int | None = None) -> CouncilSeat:
    """Seat a user on the central council or a province's council (idempotent)."""
    if level not in tuple(CouncilLevel):
        raise Invalid(_l("Cấp hội đồng phải là “province” (tỉnh) hoặc “central” (trung ương)."))
    if level == CouncilLevel.CENTRAL:
        province_code = None
    elif province(province_code) is None:
        raise Invalid(_l("Mã tỉnh không có trong danh mục 34 tỉnh, thành phố."))
    existing = db.session.scalar(
        select(CouncilSeat).where(
            CouncilSeat.user_id == user.id,
            CouncilSeat.level == level,
            CouncilSeat.province_code.is_(None)
            if province_code is None
            else CouncilSeat.province_code == province_code,
        )
    )
    if existing is not None:
        return existing
    seat = CouncilSeat(user_id=user.id, level=str(level), province_code=province_code)
    db.session.add(seat)
    db.session.flush()
    return seat


def admin_required(view: F) -> F:
    """Platform admins only: anonymous visitors go to sign in, other users get 403."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _signed_in(current_user):
            return login_manager.unauthorized()
        if not is_admin(current_user):
            raise Forbidden()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
