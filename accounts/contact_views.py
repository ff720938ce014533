"""Pages to change one's phone number or e-mail: the new address, then the code sent to it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user

from accounts import contact
from accounts.forms import CodeForm, ContactChangeForm
from accounts.identifiers import EMAIL, PHONE, Identifier
from accounts.otp import CHANGE, CodeRejected
from accounts.views import destination_limit, ip_limit, remember_cookie_present
from core.db import unit_of_work
from core.errors import DomainError
from core.forms import show_errors

bp = Blueprint("contact", __name__, url_prefix="/account")

PENDING = "pending_contact"
LABELS = {PHONE: _l("Số điện thoại mới"), EMAIL: _l("E-mail mới")}


def _pending(kind: str) -> Identifier | None:
    """The new address waiting for its code, if this session asked for one for this account."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("kind") != kind:
        return None
    if pending.get("user_id") != current_user.id or not isinstance(pending.get("value"), str):
        return None
    return Identifier(kind, pending["value"])


def _render_change(kind: str, form: ContactChangeForm, status: int = 200):
    form.identifier.label.text = str(LABELS[kind])
    current = contact.current_value(current_user, kind)
    html = render_template("accounts/contact.html", form=form, kind=kind, current=current)
    return html, status


@bp.route("/<any(phone, email):kind>", methods=["GET", "POST"])
@login_required
@ip_limit
@destination_limit
def change(kind: str):
    form = ContactChangeForm()
    if not form.is_submitted():
        return _render_change(kind, form)
    if not form.validate_on_submit():
        return _render_change(kind, form, 422)
    try:
        with unit_of_work():
            identifier = contact.request_change(current_user, kind, form.identifier.data)
    except DomainError as error:
        show_errors(form, error)
        return _render_change(kind, form, 422)
    session[PENDING] = {"kind": kind, "value": identifier.value, "user_id": current_user.id}
    flash(_("Mã xác nhận đã được gửi đến %(to)s.", to=identifier.display), "info")
    return redirect(url_for("contact.verify", kind=kind), code=303)


def _render_verify(kind: str, form: CodeForm, identifier: Identifier, status: int = 200):
    html = render_template(
        "accounts/code.html", form=form, purpose=CHANGE, identifier=identifier, pending={}
    )
    return html, status


@bp.route("/<any(phone, email):kind>/verify", methods=["GET", "POST"])
@login_required
@ip_limit
def verify(kind: str):
    identifier = _pending(kind)
    if identifier is None:
        return redirect(url_for("contact.change", kind=kind), code=303)
    form = CodeForm()
    if not form.is_submitted():
        return _render_verify(kind, form, identifier)
    if not form.validate_on_submit():
        return _render_verify(kind, form, identifier, 422)
    user = current_user._get_current_object()
    try:
        with unit_of_work(commit_on=CodeRejected):  # the counted attempt must stick
            contact.confirm_change(user, identifier, form.code.data)
            login_user(user, remember=remember_cookie_present())  # this device stays signed in
    except DomainError as error:
        show_errors(form, error)
        return _render_verify(kind, form, identifier, 422)
    session.pop(PENDING, None)
    if kind == PHONE:
        flash(_("Đã đổi số điện thoại. Các thiết bị khác đã được đăng xuất."), "info")
    else:
        flash(_("Đã đổi e-mail. Các thiết bị khác đã được đăng xuất."), "info")
    return redirect(url_for("accounts.account"), code=303)
