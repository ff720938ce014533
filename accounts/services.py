"""Account operations: plain arguments in, users out; they flush but never commit."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from accounts import audit, otp, throttle
from accounts.identifiers import (
    EMAIL,
    PHONE,
    Identifier,
    find_user,
    parse_identifier,
    printable,
    rate_limit_key,
)
from accounts.models import User
from accounts.passwords import hash_password, set_password, verify_password
from core.db import db, utcnow
from core.errors import Conflict, Invalid

LOCALES = ("vi", "en")
NAME_MAX = 120


def clean_name(text: str | None, field: str = "name") -> str:
    name = printable(text)
    if not name:
        message = _l("Vui lòng nhập họ tên.")
        raise Invalid(message, fields={field: message})
    if len(name) > NAME_MAX:
        message = _l("Họ tên dài quá %(n)d ký tự.", n=NAME_MAX)
        raise Invalid(message, fields={field: message})
    return name


def authenticate(identifier_text: str | None, password: str | None) -> User:
    """The user whose identifier and password match; one message for every failure, so the
    answer never tells whether an account exists."""
    wrong = _l("Số điện thoại/e-mail hoặc mật khẩu không đúng.")
    account = rate_limit_key(identifier_text)
    throttle.check_password_allowed(account)  # back-off after repeated wrong passwords
    try:
        identifier = parse_identifier(identifier_text)
    except Invalid:
        verify_password(None, password)
        raise
    user = find_user(identifier)
    if not verify_password(user, password) or user is None or not user.active:
        throttle.password_failed(account)
        raise Invalid(wrong, fields={"password": wrong})
    throttle.password_succeeded(account)
    return user


def signed_in(user: User) -> None:
    user.last_login_at = utcnow()


def create_user(
    name: str,
    *,
    phone: str | None = None,
    email: str | None = None,
    password: str | None = None,
    admin: bool = False,
    locale: str = "vi",
) -> User:
    """A new account with at least one contact; Conflict if the phone or e-mail is taken."""
    name = clean_name(name)
    phone_id = parse_identifier(phone, "phone") if phone else None
    email_id = parse_identifier(email, "email") if email else None
    if phone_id is None and email_id is None:
        message = _l("Vui lòng nhập số điện thoại hoặc e-mail.")
        raise Invalid(message, fields={"identifier": message})
    if phone_id is not None and phone_id.kind != PHONE:
        raise Invalid(fields={"phone": _l("Số điện thoại chưa đúng. Ví dụ: 0912 345 678")})
    if email_id is not None and email_id.kind != EMAIL:
        raise Invalid(fields={"email": _l("E-mail chưa đúng. Ví dụ: ten@example.vn")})
    for identifier in (phone_id, email_id):
        if identifier is not None and find_user(identifier) is not None:
            raise _taken(identifier)
    user = User(
        name=name,
        phone=phone_id.value if phone_id else None,
        email=email_id.value if email_id else None,
        password_hash=hash_password(password) if password else None,
        is_platform_admin=admin,
        locale=locale if locale in LOCALES else "vi",
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError as exc:  # two registrations of one number at the same moment
        raise Conflict(_l("Số điện thoại hoặc e-mail này đã có tài khoản.")) from exc
    return user


def _taken(identifier: Identifier) -> Conflict:
    if identifier.kind == PHONE:
        message = _l("Số điện thoại này đã có tài khoản.")
        return Conflict(message, fields={"phone": message})
    message = _l("E-mail này đã có tài khoản.")
    return Conflict(message, fields={"email": message})


def request_code(identifier: Identifier, purpose: str) -> bool:
    """Send a code if the purpose applies to this identifier. The caller shows the same answer
    either way. Sign-in and reset codes go only to existing accounts; registration codes to all
    (an existing account's owner is simply signed in after confirming)."""
    throttle.check_code_capacity()  # before the account look-up: the answer reveals nothing
    if purpose == otp.REGISTER:
        otp.issue_code(identifier, purpose)
        return True
    user = find_user(identifier)
    if user is None or not user.active:
        return False
    otp.issue_code(identifier, purpose)
    return True


def sign_in_with_code(identifier: Identifier, code: str | None) -> User:
    """Verify a sign-in code; CodeRejected (commit the counted attempt) if wrong."""
    otp.verify_code(identifier.value, otp.LOGIN, code)
    user = find_user(identifier)
    if user is None or not user.active:
        message = _l("Mã đã hết hạn hoặc không còn dùng được. Vui lòng bấm “Gửi lại mã”.")
        raise Invalid(message, fields={"code": message})
    return user


def register_with_code(identifier: Identifier, name: str, code: str | None) -> tuple[User, bool]:
    """Verify a registration code and create the account; (user, created). When the number
    already has an account, its owner has just proved it is theirs: they are signed in."""
    otp.verify_code(identifier.value, otp.REGISTER, code)
    user = find_user(identifier)
    if user is not None:
        if not user.active:
            raise Invalid(_l("Tài khoản này đã bị khoá. Vui lòng liên hệ quản trị Chợ Quê."))
        return user, False
    contact = {identifier.kind: identifier.value}
    return create_user(name, **contact), True


def reset_with_code(identifier: Identifier, code: str | None, new_password: str) -> User:
    """Verify a reset code and set the new password (other sessions end)."""
    otp.verify_code(identifier.value, otp.RESET, code)
    user = find_user(identifier)
    if user is None or not user.active:
        message = _l("Mã đã hết hạn hoặc không còn dùng được. Vui lòng bấm “Gửi lại mã”.")
        raise Invalid(message, fields={"code": message})
    set_password(user, new_password)
    audit.record(
        user.id,
        "password_reset",
        subject_type="user",
        subject_id=user.id,
        summary="Đặt lại mật khẩu bằng mã",
    )
    return user


def update_profile(user: User, name: str, locale: str) -> User:
    user.name = clean_name(name)
    if locale not in LOCALES:
        raise Invalid(fields={"locale": _l("Ngôn ngữ không hợp lệ.")})
    user.locale = locale
    return user


def change_password(user: User, current: str | None, new: str) -> User:
    """Change the password (the current one is required when there is one); ends other sessions."""
    if user.password_hash and not verify_password(user, current):
        message = _l("Mật khẩu hiện tại không đúng.")
        raise Invalid(message, fields={"current_password": message})
    set_password(user, new, field="new_password")
    audit.record(
        user.id, "password_changed", subject_type="user", subject_id=user.id, summary="Đổi mật khẩu"
    )
    return user


def end_all_sessions(user: User) -> None:
    """Every session and remember-me cookie of `user` stops working (copies included): the
    version in them no longer matches. A device that should stay signed in signs in again."""
    user.session_version = (user.session_version or 1) + 1


def end_other_sessions(user: User) -> None:
    end_all_sessions(user)
