"""Changing a signed-in person's phone number or e-mail.

A one-time code goes to the NEW address (the same codes, outbox and limits as sign-in); the
address changes only when that code comes back, other sessions end, the OLD address is told
afterwards, and the audit log records it. An address of another account is refused without
saying whose it is. Services flush, never commit.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from accounts import audit, otp, throttle
from accounts.identifiers import EMAIL, PHONE, Identifier, find_user, parse_identifier
from accounts.models import User
from accounts.outbox import queue_message
from accounts.services import end_all_sessions
from core.db import db
from core.errors import Conflict, Invalid
from core.phones import display_phone

KINDS = (PHONE, EMAIL)
FIELD = "identifier"  # the form field every message is shown next to


def current_value(user: User, kind: str) -> str | None:
    return user.phone if kind == PHONE else user.email


def _display(kind: str, value: str) -> str:
    return display_phone(value) if kind == PHONE else value


def clean_new_contact(user: User, kind: str, text: str | None) -> Identifier:
    """The new address as an Identifier of `kind`; Invalid if mistyped or unchanged, Conflict
    if another account has it (which account is never said)."""
    if kind not in KINDS:
        raise ValueError(f"unknown contact kind {kind!r}")
    identifier = parse_identifier(text, FIELD, mobile_only=kind == PHONE)
    if identifier.kind != kind:
        message = (
            _l("Số điện thoại chưa đúng. Ví dụ: 0912 345 678")
            if kind == PHONE
            else _l("E-mail chưa đúng. Ví dụ: ten@example.vn")
        )
        raise Invalid(message, fields={FIELD: message})
    if identifier.value == current_value(user, kind):
        message = (
            _l("Đây đã là số điện thoại của bạn.")
            if kind == PHONE
            else _l("Đây đã là e-mail của bạn.")
        )
        raise Invalid(message, fields={FIELD: message})
    owner = find_user(identifier)
    if owner is not None and owner.id != user.id:
        raise _taken(kind)
    return identifier


def _taken(kind: str) -> Conflict:
    if kind == PHONE:
        message = _l("Số điện thoại này đã thuộc một tài khoản khác. Vui lòng dùng số khác.")
    else:
        message = _l("E-mail này đã thuộc một tài khoản khác. Vui lòng dùng e-mail khác.")
    return Conflict(message, fields={FIELD: message})


def request_change(user: User, kind: str, text: str | None) -> Identifier:
    """Check the new address and send a code to it; the caller keeps the Identifier to confirm."""
    throttle.check_code_capacity()
    identifier = clean_new_contact(user, kind, text)
    otp.issue_code(identifier, otp.CHANGE)
    return identifier


def confirm_change(user: User, identifier: Identifier, code: str | None) -> str | None:
    """Check the code sent to `identifier` and make it the account's address; returns the old
    one. CodeRejected (commit the counted attempt) on a wrong code, Conflict if the address was
    taken meanwhile. Every session of the account ends (the caller signs this device in again)."""
    otp.verify_code(identifier.value, otp.CHANGE, code)
    kind = identifier.kind
    owner = find_user(identifier)
    if owner is not None and owner.id != user.id:
        raise _taken(kind)
    old = current_value(user, kind)
    if kind == PHONE:
        user.phone = identifier.value
    else:
        user.email = identifier.value
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # taken by another account at the same moment
        raise _taken(kind) from exc
    end_all_sessions(user)
    _tell_old_address(user, kind, old, identifier)
    action = "phone_changed" if kind == PHONE else "email_changed"
    audit.record(
        user.id,
        action,
        subject_type="user",
        subject_id=user.id,
        summary="Đổi số điện thoại" if kind == PHONE else "Đổi e-mail",
        details={"old": old or "", "new": identifier.value},
    )
    return old


def _tell_old_address(user: User, kind: str, old: str | None, new: Identifier) -> None:
    """A message to the address that was replaced, or, when there was none, to the account's
    other address: whoever holds it learns of a change they may not have made."""
    if old is not None:
        channel, recipient = ("sms", old) if kind == PHONE else ("email", old)
    else:
        other = user.email if kind == PHONE else user.phone
        if other is None:
            return
        channel, recipient = ("email", other) if kind == PHONE else ("sms", other)
    if kind == PHONE:
        body = _(
            "Chợ Quê: số điện thoại của tài khoản bạn đã đổi thành %(new)s. "
            "Nếu không phải bạn đổi, hãy liên hệ quản trị Chợ Quê ngay.",
            new=_display(kind, new.value),
        )
        subject = _("Chợ Quê: số điện thoại tài khoản đã đổi")
    else:
        body = _(
            "Chợ Quê: e-mail của tài khoản bạn đã đổi thành %(new)s. "
            "Nếu không phải bạn đổi, hãy liên hệ quản trị Chợ Quê ngay.",
            new=_display(kind, new.value),
        )
        subject = _("Chợ Quê: e-mail tài khoản đã đổi")
    queue_message(channel, recipient, body, subject)
