"""The checkout form: only what the courier needs."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField

from core import places
from core.forms import ServiceForm, options
from core.numbers import parse_id


class _Choice(SelectField):
    """A select whose value the service checks (its message is the one shown)."""

    def pre_validate(self, form: Any) -> None:  # pragma: no cover
        return None


class CheckoutForm(ServiceForm):
    name = StringField(
        _l("Họ tên người nhận"), render_kw={"maxlength": 120, "autocomplete": "name"}
    )
    phone = StringField(_l("Số điện thoại"), render_kw={"maxlength": 20})
    email = StringField(_l("E-mail (nếu muốn nhận thư)"), render_kw={"maxlength": 254})
    province_code = _Choice(_l("Tỉnh, thành phố"), coerce=parse_id)
    pick_province = SubmitField(_l("Hiện danh sách xã, phường của tỉnh này"))
    ward_code = _Choice(_l("Xã, phường"), coerce=parse_id)
    street = StringField(
        _l("Số nhà, thôn, đường"), render_kw={"maxlength": 200, "autocomplete": "address-line1"}
    )
    note = TextAreaField(_l("Ghi chú cho người bán"), render_kw={"maxlength": 1000, "rows": 2})
    payment_method = _Choice(_l("Thanh toán"), default="cod")
    cart_version = HiddenField()
    place = SubmitField(_l("Đặt hàng"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        methods = [("cod", str(_l("Trả tiền mặt khi nhận hàng")))]
        if current_app.config.get("STRIPE_API_KEY"):
            methods.append(("card", str(_l("Thẻ ngân hàng / thẻ quốc tế"))))
        methods.append(("vietqr", str(_l("Chuyển khoản ngân hàng (quét mã VietQR)"))))
        self.payment_method.choices = options(methods)
        self.province_code.choices = options(
            [("", str(_l("— Chọn tỉnh, thành phố —")))]
            + [(p.code, p.name) for p in places.provinces()]
        )
        code = self.province_code.data
        wards = places.wards_of(code) if places.province(code) else ()
        if wards:
            self.ward_code.choices = options(
                [("", str(_l("— Chọn xã, phường —")))] + [(w.code, w.name) for w in wards]
            )
        else:
            self.ward_code.choices = options([("", str(_l("— Chọn tỉnh trước —")))])
