"""HTML forms for batches, trace events and recalls.

Forms render fields and keep what was typed; the services validate, so every error shows at once,
in plain Vietnamese, next to its field. CSRF is checked app-wide by CSRFProtect.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from core.forms import ServiceForm
from traceability.lots.batches import KNOWN_STANDARDS
from traceability.lots.event_kinds import INSPECTION_RESULTS, UNITS, unit_label

IMAGE_ACCEPT = "image/jpeg,image/png,image/webp,image/heic,image/heif"
DECIMAL = {"inputmode": "decimal", "autocomplete": "off"}


class ChoiceField(SelectField):
    """A select whose value the service checks (its message is the one shown)."""

    def pre_validate(self, form: Any) -> None:
        return None


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        return None


def choice(value: Any, label: Any) -> SelectChoice:
    return SelectChoice(str(value), label)


def unit_choices() -> list[SelectChoice]:
    return [choice(unit, unit_label(unit)) for unit in UNITS]


class BatchForm(ServiceForm):
    product_id = ChoiceField(_l("Sản phẩm"))
    lot_code = StringField(
        _l("Mã lô"),
        description=_l("Chữ không dấu và số, tối đa 20 ký tự, ví dụ CP-2026-11A."),
        render_kw={
            "maxlength": 20,
            "autocapitalize": "characters",
            "spellcheck": "false",
            "autocomplete": "off",
        },  # fmt: skip
    )
    produced_on = StringField(_l("Ngày thu hoạch / sản xuất"), render_kw={"type": "date"})
    quantity = StringField(_l("Số lượng"), render_kw={**DECIMAL, "maxlength": 16})
    unit = ChoiceField(_l("Đơn vị"), choices=unit_choices())
    origin_ward_code = ChoiceField(_l("Xã, phường nơi thu hoạch / sản xuất"))
    standards = MultiCheckboxField(
        _l("Tiêu chuẩn áp dụng"), choices=[choice(k, v) for k, v in KNOWN_STANDARDS.items()]
    )
    inputs_used = TextAreaField(
        _l("Vật tư đã dùng (phân bón, thuốc…)"), render_kw={"maxlength": 2000, "rows": 3}
    )
    best_before = StringField(_l("Hạn dùng tốt nhất (nếu có)"), render_kw={"type": "date"})
    parents = MultiCheckboxField(_l("Làm từ lô nào (nếu là lô đóng gói, chế biến, phối trộn)"))
    # In a <details> "more": not needed for most harvests.
    expires_on = StringField(_l("Hạn sử dụng (nếu có)"), render_kw={"type": "date"})
    other_standards = StringField(
        _l("Tiêu chuẩn khác (cách nhau bằng dấu phẩy)"), render_kw={"maxlength": 400}
    )
    origin_text = StringField(_l("Ghi rõ nơi sản xuất (nếu khác)"), render_kw={"maxlength": 300})
    latitude = StringField(_l("Vĩ độ (GPS, nếu có)"), render_kw={**DECIMAL, "maxlength": 12})
    longitude = StringField(_l("Kinh độ (GPS, nếu có)"), render_kw={**DECIMAL, "maxlength": 12})
    notes = TextAreaField(_l("Ghi chú"), render_kw={"maxlength": 2000, "rows": 3})
    photo = FileField(_l("Ảnh lô hàng"), render_kw={"accept": IMAGE_ACCEPT})
    save = SubmitField(_l("Lưu lô hàng"))


class EventForm(ServiceForm):
    """One form for every kind; the page shows only the fields of the chosen kind."""

    kind = HiddenField()
    day = StringField(_l("Ngày"), render_kw={"type": "date"})
    clock = StringField(_l("Giờ"), render_kw={"type": "time"})
    location_ward_code = ChoiceField(_l("Xã, phường"))
    location_text = StringField(_l("Địa điểm (ghi rõ nếu cần)"), render_kw={"maxlength": 300})
    crop = StringField(_l("Cây trồng, giống"), render_kw={"maxlength": 300})
    area = StringField(_l("Diện tích, thửa"), render_kw={"maxlength": 300})
    inputs = TextAreaField(
        _l("Vật tư đã dùng, liều lượng"), render_kw={"maxlength": 1000, "rows": 3}
    )
    result = RadioField(
        _l("Kết quả"), choices=[choice(k, v) for k, v in INSPECTION_RESULTS.items()]
    )
    inspector = StringField(_l("Người / đơn vị kiểm tra"), render_kw={"maxlength": 300})
    packaging = StringField(_l("Quy cách đóng gói"), render_kw={"maxlength": 300})
    destination = StringField(_l("Gửi đến"), render_kw={"maxlength": 300})
    carrier = StringField(_l("Đơn vị vận chuyển"), render_kw={"maxlength": 300})
    source = StringField(_l("Nhận từ"), render_kw={"maxlength": 300})
    quantity = StringField(_l("Số lượng"), render_kw={**DECIMAL, "maxlength": 16})
    unit = ChoiceField(_l("Đơn vị"), choices=[choice("", "—"), *unit_choices()])
    note = TextAreaField(_l("Ghi chú"), render_kw={"maxlength": 1000, "rows": 2})
    save = SubmitField(_l("Ghi sự kiện"))


class CorrectionForm(EventForm):
    reason = TextAreaField(_l("Lý do sửa"), render_kw={"maxlength": 1000, "rows": 2})
    retract = BooleanField(_l("Sự kiện này không xảy ra (hủy, không thay thế)"))
    save = SubmitField(_l("Ghi bản sửa"))


class RecallForm(ServiceForm):
    reason = TextAreaField(
        _l("Lý do thu hồi"),
        description=_l("Ví dụ: kết quả kiểm nghiệm dư lượng thuốc không đạt."),
        render_kw={"maxlength": 1000, "rows": 3},
    )
    confirm = SubmitField(_l("Thu hồi lô này"))


class PhotoForm(ServiceForm):
    photo = FileField(_l("Thêm ảnh"), render_kw={"accept": IMAGE_ACCEPT})
    upload = SubmitField(_l("Tải ảnh lên"))


class ParentsForm(ServiceForm):
    parents = MultiCheckboxField(_l("Lô nguồn"))
    save = SubmitField(_l("Ghi lô nguồn"))
