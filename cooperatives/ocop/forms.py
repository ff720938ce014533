"""Forms for OCOP certificates and evaluations (labels and errors in plain Vietnamese).

Forms only parse and check shapes; the rules (stars against score, part maxima, who rates what)
live in cooperatives/ocop.py so the same checks hold for every way in.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from cooperatives.models import RuleSet
from cooperatives.ocop import MAX_AUTHORITY, MAX_DECISION_NUMBER, MAX_NOTE, MAX_REASON
from core.forms import coerce_int, options

DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")


def parse_day(text: str) -> date | None:
    """'15/03/2024' as typed, or '2024-03-15' from a date input."""
    text = (text or "").strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


class DayField(StringField):
    """A date typed as dd/mm/yyyy or sent by the browser's date picker (yyyy-mm-dd).

    Keeps the typed text when it cannot be read, so the person sees what they wrote."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.day: date | None = None

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        self.day = parse_day(self.data or "")

    def process_data(self, value: Any) -> None:
        if isinstance(value, date):
            self.day = value
            self.data = value.isoformat()
        else:
            super().process_data(value)

    def pre_validate(self, form: Any) -> None:
        if (self.data or "").strip() and self.day is None:
            raise ValidationError(_l("Ngày không đúng; hãy nhập theo dạng ngày/tháng/năm."))

    @property
    def input_type_for_render(self) -> str:
        """A date picker when the value is readable (or empty), plain text to show a typo."""
        return "date" if self.day is not None or not (self.data or "").strip() else "text"

    def _value(self) -> str:
        if self.day is not None:
            return self.day.isoformat()
        return self.data or ""


class ScoreField(StringField):
    """A score typed on a phone: '89,5' or '89.5'. The service checks the number itself."""

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        self.data = (self.data or "").strip()


class ChoiceField(SelectField):
    """A select whose errors speak Vietnamese (WTForms ships no Vietnamese catalog)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("invalid_value_message", _l("Vui lòng chọn một mục trong danh sách."))
        kwargs.setdefault("invalid_choice_message", _l("Vui lòng chọn một mục trong danh sách."))
        super().__init__(*args, **kwargs)


def choices(*pairs: tuple[str, Any]) -> list[SelectChoice]:
    return options(pairs)


def _level_choices() -> list[SelectChoice]:
    return choices(
        ("province", _l("Cấp tỉnh")),
        ("central", _l("Cấp trung ương (5 sao)")),
        ("district", _l("Cấp huyện (quyết định trước 01/07/2025)")),
    )


def _rule_set_choices() -> list[SelectChoice]:
    return choices(
        ("", _l("Theo ngày quyết định (tự chọn)")),
        (RuleSet.QD_148_2023.value, _l("Quyết định 148/2023 (A 40 · B 25 · C 35)")),
        (RuleSet.QD_1048_2019.value, _l("Quyết định 1048/2019 (A 35 · B 25 · C 40)")),
    )


class CertificateForm(FlaskForm):
    product_id = ChoiceField(
        _l("Sản phẩm"),
        coerce=coerce_int,
        validators=[DataRequired(_l("Vui lòng chọn sản phẩm."))],
    )
    decision_number = StringField(
        _l("Số quyết định"),
        validators=[
            DataRequired(_l("Vui lòng nhập số quyết định.")),
            Length(max=MAX_DECISION_NUMBER, message=_l("Tối đa %(max)d ký tự.")),
        ],
    )
    decision_date = DayField(
        _l("Ngày quyết định"), validators=[DataRequired(_l("Vui lòng nhập ngày quyết định."))]
    )
    issuing_authority = StringField(
        _l("Cơ quan ban hành (ghi đúng như trên quyết định)"),
        validators=[
            DataRequired(_l("Vui lòng nhập cơ quan ban hành.")),
            Length(max=MAX_AUTHORITY, message=_l("Tối đa %(max)d ký tự.")),
        ],
    )
    rating_level = ChoiceField(_l("Cấp đánh giá"), choices=_level_choices)
    stars = ChoiceField(
        _l("Số sao trên giấy chứng nhận"),
        choices=choices(("", _l("— Chọn —")), ("3", "3 ★"), ("4", "4 ★"), ("5", "5 ★")),
        validators=[DataRequired(_l("Vui lòng chọn số sao."))],
    )
    total_score = ScoreField(
        _l("Tổng điểm"), validators=[DataRequired(_l("Vui lòng nhập tổng điểm."))]
    )
    score_a = ScoreField(_l("Điểm phần A (nếu có)"), validators=[Optional()])
    score_b = ScoreField(_l("Điểm phần B (nếu có)"), validators=[Optional()])
    score_c = ScoreField(_l("Điểm phần C (nếu có)"), validators=[Optional()])
    rule_set = ChoiceField(_l("Bộ tiêu chí"), choices=_rule_set_choices)
    category_code = ChoiceField(_l("Nhóm sản phẩm OCOP"), choices=[])


class EvaluationForm(FlaskForm):
    product_id = ChoiceField(
        _l("Sản phẩm"),
        coerce=coerce_int,
        validators=[DataRequired(_l("Vui lòng chọn sản phẩm."))],
    )
    note = TextAreaField(
        _l("Ghi chú cho hội đồng (không bắt buộc)"),
        validators=[Optional(), Length(max=MAX_NOTE, message=_l("Tối đa %(max)d ký tự."))],
    )


class ScoreForm(FlaskForm):
    score_a = ScoreField(_l("Điểm phần A"), validators=[DataRequired(_l("Vui lòng nhập điểm."))])
    score_b = ScoreField(_l("Điểm phần B"), validators=[DataRequired(_l("Vui lòng nhập điểm."))])
    score_c = ScoreField(_l("Điểm phần C"), validators=[DataRequired(_l("Vui lòng nhập điểm."))])


class DecisionForm(FlaskForm):
    decision_number = StringField(
        _l("Số quyết định"),
        validators=[
            DataRequired(_l("Vui lòng nhập số quyết định.")),
            Length(max=MAX_DECISION_NUMBER, message=_l("Tối đa %(max)d ký tự.")),
        ],
    )
    decision_date = DayField(
        _l("Ngày quyết định"), validators=[DataRequired(_l("Vui lòng nhập ngày quyết định."))]
    )
    issuing_authority = StringField(
        _l("Cơ quan ban hành"),
        validators=[
            DataRequired(_l("Vui lòng nhập cơ quan ban hành.")),
            Length(max=MAX_AUTHORITY, message=_l("Tối đa %(max)d ký tự.")),
        ],
    )


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        _l("Lý do thu hồi"),
        validators=[
            DataRequired(_l("Vui lòng ghi rõ lý do thu hồi.")),
            Length(min=5, max=MAX_REASON, message=_l("Lý do từ %(min)d đến %(max)d ký tự.")),
        ],
    )


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (withdraw a dossier)."""
