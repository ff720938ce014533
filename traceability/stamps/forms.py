"""Forms of the stamp pages. They render fields and keep what was typed; the services
(traceability.stamps, traceability.stamps.printing) validate, so each error shows next to its
field in plain Vietnamese. CSRF is checked app-wide by CSRFProtect; templates add the token."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from core.forms import ServiceForm, options
from traceability.stamps.printing import CUSTOM_LIMITS, DEFAULT_LAYOUT, PRESETS

NUMBER = {"inputmode": "numeric", "autocomplete": "off"}
DECIMAL = {"inputmode": "decimal", "autocomplete": "off"}


class ChoiceField(SelectField):
    """A select whose value the service checks (its message is the one shown)."""

    def pre_validate(self, form: Any) -> None:
        return None


class RunForm(ServiceForm):
    quantity = StringField(
        _l("Số tem cần in"),
        render_kw={**NUMBER, "maxlength": 7},
        description=_l("Từ 1 đến 100.000 tem. Số sê-ri nối tiếp các đợt trước."),
    )
    product_id = ChoiceField(
        _l("Sản phẩm (không bắt buộc)"),
        description=_l("In tên sản phẩm và sao OCOP lên tem."),
    )
    batch_id = ChoiceField(
        _l("Lô hàng (không bắt buộc)"),
        description=_l(
            "Chỉ chọn khi tem in cho một lô đã có. Sản phẩm có mã GTIN sẽ dùng đường dẫn GS1."
        ),
    )
    with_pin = BooleanField(_l("Có mã PIN cào (chống hàng giả)"))


class RangeForm(ServiceForm):
    first = StringField(_l("Từ số sê-ri"), render_kw={**NUMBER, "maxlength": 12})
    last = StringField(_l("Đến số sê-ri"), render_kw={**NUMBER, "maxlength": 12})


class ActivateForm(RangeForm):
    batch_id = ChoiceField(_l("Cho lô hàng"))


class VoidForm(RangeForm):
    reason = StringField(
        _l("Lý do hủy"),
        render_kw={"maxlength": 300, "placeholder": _l("Ví dụ: tem bị rách")},
    )


def layout_choices() -> list[SelectChoice]:
    choices = [(key, layout.title) for key, layout in PRESETS.items()]
    return options([*choices, ("custom", str(_l("Khổ khác (nhập kích thước, mm)")))])


class PrintForm(ServiceForm):
    layout = RadioField(_l("Khổ giấy nhãn A4"), default=DEFAULT_LAYOUT)
    first = StringField(_l("Từ số"), render_kw={**NUMBER, "maxlength": 12})
    last = StringField(_l("Đến số"), render_kw={**NUMBER, "maxlength": 12})
    columns = StringField(_l("Số cột"), render_kw={**NUMBER, "maxlength": 2})
    rows = StringField(_l("Số hàng"), render_kw={**NUMBER, "maxlength": 2})
    label_width = StringField(_l("Chiều rộng nhãn (mm)"), render_kw={**DECIMAL, "maxlength": 6})
    label_height = StringField(_l("Chiều cao nhãn (mm)"), render_kw={**DECIMAL, "maxlength": 6})
    margin_left = StringField(_l("Lề trái (mm)"), render_kw={**DECIMAL, "maxlength": 6})
    margin_top = StringField(_l("Lề trên (mm)"), render_kw={**DECIMAL, "maxlength": 6})
    gap_x = StringField(_l("Khoảng cách giữa các cột (mm)"), render_kw={**DECIMAL, "maxlength": 6})
    gap_y = StringField(_l("Khoảng cách giữa các hàng (mm)"), render_kw={**DECIMAL, "maxlength": 6})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.layout.choices = layout_choices()

    def custom_values(self) -> dict[str, Any]:
        return {name: self._fields[name].data for name in CUSTOM_LIMITS}


class PinForm(FlaskForm):
    """The scratch-off PIN on the public scan page."""

    class Meta:
        csrf = False  # CSRFProtect checks every POST app-wide; the template adds the token

    pin = StringField(
        _l("Mã PIN (6 chữ số dưới lớp cào)"),
        validators=[
            DataRequired(message=_l("Nhập 6 chữ số dưới lớp cào.")),
            Length(max=12, message=_l("Mã PIN có 6 chữ số.")),
            Regexp(r"^\s*[0-9]{6}\s*$", message=_l("Mã PIN có 6 chữ số.")),
        ],
    )
