"""Display names for the catalog's enumerations (Vietnamese source strings, translated by Babel)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from cooperatives.models import MemberRole, ProducerKind, ProductStatus

KIND_LABELS: dict[str, Any] = {
    ProducerKind.HTX: _l("Hợp tác xã (HTX)"),
    ProducerKind.THT: _l("Tổ hợp tác"),
    ProducerKind.DN: _l("Doanh nghiệp"),
    ProducerKind.HKD: _l("Hộ sản xuất kinh doanh"),
}

ROLE_LABELS: dict[str, Any] = {
    MemberRole.MANAGER: _l("quản lý"),
    MemberRole.MEMBER: _l("thành viên"),
    MemberRole.HELPER: _l("người hỗ trợ (tổ công nghệ số)"),
}

STATUS_LABELS: dict[str, Any] = {
    ProductStatus.DRAFT: _l("nháp"),
    ProductStatus.PUBLISHED: _l("đang bán"),
    ProductStatus.ARCHIVED: _l("đã lưu trữ"),
}

# Units a pack is counted in; the first is the default.
UNITS: dict[str, Any] = {
    "kg": _l("kg"),
    "g": _l("gam"),
    "l": _l("lít"),
    "ml": _l("ml"),
    "qua": _l("quả"),
    "bo": _l("bó"),
    "cai": _l("cái"),
    "chai": _l("chai"),
    "hop": _l("hộp"),
    "goi": _l("gói"),
    "tui": _l("túi"),
    "thung": _l("thùng"),
}
