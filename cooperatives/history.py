"""A producer's history: audit entries told as sentences ('Tuấn nhập thay cho Hộ A: thêm …')."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from accounts.models import AuditEntry
from cooperatives.labels import ROLE_LABELS, STATUS_LABELS
from cooperatives.models import MemberRole
from core.db import db
from core.money import format_vnd
from core.numbers import parse_int

# action -> sentence fragment filled from the entry's details
ACTIONS: dict[str, Any] = {
    "producer.create": _l("tạo hồ sơ %(name)s"),
    "producer.update": _l("sửa hồ sơ cơ sở"),
    "member.add": _l("thêm %(name)s làm %(role)s"),
    "member.role": _l("đổi vai trò của %(name)s thành %(role)s"),
    "member.remove": _l("gỡ %(name)s (%(role)s) khỏi cơ sở"),
    "member.leave": _l("rời khỏi cơ sở"),
    "member.invite": _l("mời số %(phone)s làm %(role)s"),
    "member.join": _l("nhận lời mời, tham gia làm %(role)s"),
    "member.decline": _l("từ chối lời mời"),
    "member.cancel": _l("huỷ lời mời gửi số %(phone)s"),
    "product.create": _l("thêm sản phẩm %(name)s"),
    "product.update": _l("sửa sản phẩm %(name)s"),
    "product.status": _l("chuyển sản phẩm %(name)s sang trạng thái %(status)s"),
    "variant.create": _l("thêm quy cách %(label)s cho %(product)s, giá %(price)s"),
    "variant.update": _l("sửa quy cách %(label)s của %(product)s, giá %(price)s"),
    "image.add": None,  # plural: told by _image_add
    "image.update": _l("sửa mô tả ảnh của %(product)s"),
    "image.move": _l("đổi thứ tự ảnh của %(product)s"),
    "image.delete": _l("xoá một ảnh của %(product)s"),
}
PAGE_SIZE = 50


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "…"


def describe_action(action: str, details: dict[str, Any], fallback: str = "") -> str:
    if action not in ACTIONS:
        return fallback or action
    values = _Blank(details or {})
    if action == "image.add":
        count = parse_int(values.get("count"))
        return ngettext(
            "thêm %(count)s ảnh cho %(product)s",
            "thêm %(count)s ảnh cho %(product)s",
            count if count is not None else 2,
            count=count if count is not None else "…",
            product=values["product"],
        )
    template = ACTIONS[action]
    if "role" in values:
        values["role"] = str(ROLE_LABELS.get(values["role"], values["role"]))
    if "status" in values:
        values["status"] = str(STATUS_LABELS.get(values["status"], values["status"]))
    if isinstance(values.get("price"), int):
        values["price"] = format_vnd(values["price"])
    return str(template) % values


def describe(entry: AuditEntry, producer_name: str) -> str:
    """One line of the history page, naming the helper who typed for the household."""
    what = describe_action(entry.action, entry.details, entry.summary)
    actor = entry.actor.name if entry.actor is not None else _("Người dùng đã xoá")
    if entry.actor_role == MemberRole.HELPER:
        return _(
            "%(actor)s nhập thay cho %(producer)s: %(what)s",
            actor=actor,
            producer=producer_name,
            what=what,
        )
    return _("%(actor)s: %(what)s", actor=actor, what=what)


def producer_history(producer_id: int, page: int) -> Pagination:
    query = (
        select(AuditEntry)
        .where(AuditEntry.producer_id == producer_id)
        .options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    return db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)
