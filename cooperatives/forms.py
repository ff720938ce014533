"""HTML forms of the producer catalog.

The forms render fields and keep what was typed; the services validate (so every error shows at
once, in plain Vietnamese, next to its field). CSRF is checked app-wide by CSRFProtect.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, MultipleFileField
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField

from cooperatives.labels import KIND_LABELS, ROLE_LABELS, UNITS
from cooperatives.models import MemberRole, OcopCategory
from core import places
from core.db import db
from core.forms import ServiceForm, coerce_int, options

IMAGE_ACCEPT = "image/jpeg,image/png,image/webp,image/heic,image/heif"


class ChoiceField(SelectField):
    """A select whose value the service checks (its message is the one shown)."""

    def pre_validate(self, form: Any) -> None:  # pragma: no cover - forms are not validated
        return None


def _placeholder() -> list[tuple[str, str]]:
    return [("", str(_l("— Chọn —")))]


class ProducerForm(ServiceForm):
    name = StringField(
        _l("Tên cơ sở"),
        render_kw={"maxlength": 200, "required": True, "autocomplete": "organization"},
    )
    kind = ChoiceField(_l("Loại hình"))
    tax_code = StringField(_l("Mã số thuế (nếu có)"), render_kw={"maxlength": 20})
    province_code = ChoiceField(_l("Tỉnh, thành phố"), coerce=coerce_int)
    pick_province = SubmitField(_l("Hiện danh sách xã, phường của tỉnh này"))
    ward_code = ChoiceField(_l("Xã, phường"), coerce=coerce_int)
    street = StringField(
        _l("Thôn, xóm, số nhà"), render_kw={"maxlength": 200, "autocomplete": "address-line1"}
    )
    phone = StringField(_l("Số điện thoại"), render_kw={"maxlength": 20})
    email = StringField(_l("E-mail (nếu có)"), render_kw={"maxlength": 254})
    story = TextAreaField(_l("Câu chuyện của cơ sở"), render_kw={"maxlength": 5000, "rows": 5})
    logo = FileField(_l("Logo hoặc ảnh đại diện"), render_kw={"accept": IMAGE_ACCEPT})
    bank_bin = StringField(_l("Mã ngân hàng (BIN, 6 chữ số)"), render_kw={"maxlength": 6})
    bank_account = StringField(_l("Số tài khoản"), render_kw={"maxlength": 25})
    bank_account_name = StringField(_l("Tên chủ tài khoản"), render_kw={"maxlength": 120})
    gs1_prefix = StringField(_l("Mã doanh nghiệp GS1 (nếu có)"), render_kw={"maxlength": 12})
    save = SubmitField(_l("Lưu hồ sơ"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = options(_placeholder() + [(k, str(v)) for k, v in KIND_LABELS.items()])
        self.province_code.choices = options(
            [("", str(_l("— Chọn tỉnh, thành phố —")))]
            + [(p.code, p.name) for p in places.provinces()]
        )
        self.set_wards()

    def set_wards(self) -> None:
        """Communes of the chosen province (the no-JavaScript second step shows them)."""
        code = self.province_code.data
        wards = places.wards_of(code) if places.province(code) else ()
        if wards:
            self.ward_code.choices = options(
                [("", str(_l("— Chọn xã, phường —")))] + [(w.code, w.name) for w in wards]
            )
        else:
            self.ward_code.choices = options([("", str(_l("— Chọn tỉnh trước —")))])
        if self.ward_code.data is not None and not any(
            w.code == self.ward_code.data for w in wards
        ):
            self.ward_code.data = None


class MemberForm(ServiceForm):
    phone = StringField(_l("Số điện thoại"), render_kw={"maxlength": 20, "required": True})
    name = StringField(_l("Tên để bạn nhớ (không bắt buộc)"), render_kw={"maxlength": 120})
    role = ChoiceField(_l("Vai trò"), default=MemberRole.MEMBER)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = options((k, str(v).capitalize()) for k, v in ROLE_LABELS.items())


class RoleForm(ServiceForm):
    role = ChoiceField(_l("Vai trò"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = options((k, str(v).capitalize()) for k, v in ROLE_LABELS.items())


def category_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """OCOP groups with their sub-groups, in the reference data's order (rendered as optgroups)."""
    rows = list(db.session.scalars(select(OcopCategory).order_by(OcopCategory.position)))
    groups: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for row in rows:
        if row.parent_code is None:
            groups.setdefault(row.code, (row.name_vi, []))
    for row in rows:
        if row.parent_code in groups:
            groups[row.parent_code][1].append((row.code, row.name_vi))
    return list(groups.values())


class ProductForm(ServiceForm):
    name_vi = StringField(_l("Tên sản phẩm"), render_kw={"maxlength": 200, "required": True})
    name_en = StringField(_l("Tên tiếng Anh (nếu có)"), render_kw={"maxlength": 200})
    description_vi = TextAreaField(_l("Mô tả"), render_kw={"maxlength": 5000, "rows": 5})
    description_en = TextAreaField(
        _l("Mô tả tiếng Anh (nếu có)"), render_kw={"maxlength": 5000, "rows": 3}
    )
    category_code = ChoiceField(_l("Nhóm sản phẩm OCOP"))
    gtin = StringField(_l("Mã vạch GTIN (nếu cơ sở đã đăng ký GS1)"), render_kw={"maxlength": 20})
    save = SubmitField(_l("Lưu sản phẩm"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category_groups = category_groups()
        self.category_code.choices = options(
            [("", str(_l("— Chưa chọn —")))]
            + [choice for _group, choices in self.category_groups for choice in choices]
        )


class VariantForm(ServiceForm):
    label = StringField(
        _l("Tên quy cách"),
        render_kw={"maxlength": 120, "required": True, "placeholder": "thùng 5 kg"},
    )
    pack_size = StringField(_l("Số lượng mỗi gói"), render_kw={"maxlength": 14, "required": True})
    unit = ChoiceField(_l("Đơn vị"), default="kg")
    price = StringField(
        _l("Giá bán (đồng)"),
        render_kw={"maxlength": 20, "required": True, "placeholder": "150.000"},
    )
    weight_grams = StringField(_l("Khối lượng để gửi hàng (gam)"), render_kw={"maxlength": 9})
    sku = StringField(_l("Mã SKU (để trống để tự tạo)"), render_kw={"maxlength": 64})
    active = BooleanField(_l("Đang bán"), default=True)
    save = SubmitField(_l("Lưu quy cách"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit.choices = options((k, str(v)) for k, v in UNITS.items())


class PhotoForm(ServiceForm):
    photos = MultipleFileField(_l("Chọn ảnh"), render_kw={"accept": IMAGE_ACCEPT, "multiple": True})
    alt = StringField(_l("Mô tả ngắn cho ảnh (cho người khiếm thị)"), render_kw={"maxlength": 200})
    upload = SubmitField(_l("Tải ảnh lên"))


class AltForm(ServiceForm):
    alt = StringField(_l("Mô tả ảnh"), render_kw={"maxlength": 200})
