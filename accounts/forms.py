"""Sign-in, registration, reset, account and API-key forms (shape only; services decide)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from accounts.passwords import MAX_LENGTH, MIN_LENGTH

IDENTIFIER_LABEL = _l("Số điện thoại hoặc e-mail")
_required_identifier = DataRequired(message=_l("Vui lòng nhập số điện thoại hoặc e-mail."))
_password_length = Length(
    min=MIN_LENGTH,
    max=MAX_LENGTH,
    message=_l("Mật khẩu cần từ %(min)d đến %(max)d ký tự."),  # WTForms fills min and max
)


def _identifier() -> StringField:
    return StringField(IDENTIFIER_LABEL, validators=[_required_identifier, Length(max=254)])


class LoginForm(FlaskForm):
    identifier = _identifier()
    password = PasswordField(
        _l("Mật khẩu"),
        validators=[DataRequired(message=_l("Vui lòng nhập mật khẩu.")), Length(max=MAX_LENGTH)],
    )
    remember = BooleanField(_l("Ghi nhớ trên điện thoại này"), default=True)
    next = HiddenField()


class CodeRequestForm(FlaskForm):
    identifier = _identifier()
    next = HiddenField()


class CodeForm(FlaskForm):
    code = StringField(
        _l("Mã gồm 6 chữ số"),
        validators=[DataRequired(message=_l("Vui lòng nhập mã.")), Length(max=12)],
    )


class RegisterForm(FlaskForm):
    name = StringField(
        _l("Họ và tên"),
        validators=[DataRequired(message=_l("Vui lòng nhập họ tên.")), Length(max=120)],
    )
    identifier = _identifier()
    next = HiddenField()


class ResetRequestForm(FlaskForm):
    identifier = _identifier()


class ResetForm(FlaskForm):
    code = StringField(
        _l("Mã gồm 6 chữ số"),
        validators=[DataRequired(message=_l("Vui lòng nhập mã.")), Length(max=12)],
    )
    password = PasswordField(
        _l("Mật khẩu mới"),
        validators=[DataRequired(message=_l("Vui lòng nhập mật khẩu mới.")), _password_length],
    )
    confirm = PasswordField(
        _l("Nhập lại mật khẩu mới"),
        validators=[EqualTo("password", message=_l("Hai mật khẩu chưa giống nhau."))],
    )


class ProfileForm(FlaskForm):
    name = StringField(
        _l("Họ và tên"),
        validators=[DataRequired(message=_l("Vui lòng nhập họ tên.")), Length(max=120)],
    )
    locale = SelectField(
        _l("Ngôn ngữ"),
        choices=[SelectChoice("vi", "Tiếng Việt"), SelectChoice("en", "English")],
        validate_choice=True,
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Mật khẩu hiện tại"), validators=[Optional(), Length(max=MAX_LENGTH)]
    )
    new_password = PasswordField(
        _l("Mật khẩu mới"),
        validators=[DataRequired(message=_l("Vui lòng nhập mật khẩu mới.")), _password_length],
    )
    confirm = PasswordField(
        _l("Nhập lại mật khẩu mới"),
        validators=[EqualTo("new_password", message=_l("Hai mật khẩu chưa giống nhau."))],
    )


class ApiKeyForm(FlaskForm):
    name = StringField(
        _l("Tên đối tác"),
        validators=[DataRequired(message=_l("Vui lòng nhập tên.")), Length(max=120)],
    )
    scopes = StringField(
        _l("Quyền (cách nhau bằng dấu cách)"),
        validators=[DataRequired(message=_l("Vui lòng nhập ít nhất một quyền.")), Length(max=500)],
    )


class ContactChangeForm(FlaskForm):
    """A new phone number or e-mail; the page sets the label for the kind being changed."""

    identifier = StringField(
        _l("Số điện thoại mới"),
        validators=[DataRequired(message=_l("Vui lòng nhập địa chỉ mới.")), Length(max=254)],
    )
