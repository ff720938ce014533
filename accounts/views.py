"""Sign-in (password or one-time code), registration, password reset, sign-out, account page."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from accounts import otp, services
from accounts.forms import (
    CodeForm,
    CodeRequestForm,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    RegisterForm,
    ResetForm,
    ResetRequestForm,
)
from accounts.identifiers import EMAIL, PHONE, Identifier, parse_identifier, rate_limit_key
from accounts.login import landing_url, safe_next, start_session
from accounts.models import CouncilLevel
from accounts.otp import CodeRejected
from accounts.passwords import check_strength
from accounts.roles import council_seats
from core.db import unit_of_work
from core.errors import DomainError, Invalid
from core.forms import show_errors
from core.phones import display_phone
from core.places import province
from core.security import limiter

bp = Blueprint("accounts", __name__)

PENDING = "pending_code"
# Per client address on every form that checks a secret or sends a code.
IP_LIMIT = "10 per minute;50 per hour"
# Per destination (every spelling of one number is one key), shared by every form that sends.
DESTINATION_LIMIT = "3 per 10 minutes"


# Per account (every spelling of one identifier), whatever the address: password tries.
ACCOUNT_LIMIT = "20 per hour"


def _destination_key() -> str:
    return "dest:" + rate_limit_key(request.form.get("identifier"))


def _account_key() -> str:
    return "account:" + rate_limit_key(request.form.get("identifier"))


ip_limit = limiter.limit(IP_LIMIT, methods=["POST"])
destination_limit = limiter.shared_limit(
    DESTINATION_LIMIT, scope="otp-destination", key_func=_destination_key, methods=["POST"]
)
account_limit = limiter.shared_limit(
    ACCOUNT_LIMIT, scope="password-account", key_func=_account_key, methods=["POST"]
)


@bp.app_template_filter("phone")
def phone_filter(value: str | None) -> str:
    """'+84912345678' -> '0912 345 678'."""
    return display_phone(value)


# --- helpers -------------------------------------------------------------------------------


def _by_email() -> bool:
    """The identifier field opens a phone keypad unless the person chose to type an e-mail."""
    return request.values.get("by") == "email" or "@" in (request.form.get("identifier") or "")


def _next_from_request() -> str:
    return safe_next(request.values.get("next")) or ""


def _after_login(target: str | None) -> Any:
    return redirect(safe_next(target) or landing_url(), code=303)


def remember_cookie_present() -> bool:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies


def _pending(purpose: str) -> dict[str, Any] | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("purpose") != purpose:
        return None
    if pending.get("kind") not in (PHONE, EMAIL) or not isinstance(pending.get("value"), str):
        return None
    return pending


def _start_pending(identifier: Identifier, purpose: str, **extra: Any) -> None:
    session[PENDING] = {
        "purpose": purpose,
        "kind": identifier.kind,
        "value": identifier.value,
        **extra,
    }


def _sent_message(identifier: Identifier, purpose: str) -> str:
    if purpose == otp.REGISTER:
        return _("Mã xác nhận đã được gửi đến %(to)s.", to=identifier.display)
    if identifier.kind == PHONE:
        return _("Nếu số này đã đăng ký, mã đã được gửi đến %(to)s.", to=identifier.display)
    return _("Nếu e-mail này đã đăng ký, mã đã được gửi đến %(to)s.", to=identifier.display)


# --- sign in -------------------------------------------------------------------------------


def _render_login(form: LoginForm, status: int = 200):
    return render_template("accounts/login.html", form=form, by_email=_by_email()), status


@bp.route("/login", methods=["GET", "POST"])
@ip_limit
@account_limit
def login():
    if current_user.is_authenticated and request.method == "GET":
        return _after_login(request.args.get("next"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = _next_from_request()
        return _render_login(form)
    if not form.validate_on_submit():
        return _render_login(form, 422)
    try:
        with unit_of_work():
            user = services.authenticate(form.identifier.data, form.password.data)
            services.signed_in(user)
            start_session(user, remember=bool(form.remember.data))
    except Invalid as error:
        show_errors(form, error)
        return _render_login(form, 422)
    return _after_login(form.next.data)


@bp.post("/login/code")
@ip_limit
@destination_limit
def login_code():
    """Send a sign-in code. The answer is the same whether or not the account exists."""
    request_form = CodeRequestForm()
    form = LoginForm()
    form.password.data = ""
    if not request_form.validate_on_submit():
        form.identifier.errors = list(request_form.identifier.errors)
        return _render_login(form, 422)
    try:
        with unit_of_work():
            identifier = parse_identifier(request_form.identifier.data)
            services.request_code(identifier, otp.LOGIN)
    except Invalid as error:
        show_errors(form, error)
        return _render_login(form, 422)
    _start_pending(identifier, otp.LOGIN, next=safe_next(request_form.next.data) or "")
    flash(_sent_message(identifier, otp.LOGIN), "info")
    return redirect(url_for("accounts.login_verify"), code=303)


def _render_code(form: CodeForm, pending: dict[str, Any], status: int = 200):
    identifier = Identifier(pending["kind"], pending["value"])
    return (
        render_template(
            "accounts/code.html",
            form=form,
            purpose=pending["purpose"],
            identifier=identifier,
            pending=pending,
        ),
        status,
    )


@bp.route("/login/verify", methods=["GET", "POST"])
@ip_limit
def login_verify():
    pending = _pending(otp.LOGIN)
    if pending is None:
        return redirect(url_for("accounts.login"), code=303)
    form = CodeForm()
    if request.method == "GET":
        return _render_code(form, pending)
    if not form.validate_on_submit():
        return _render_code(form, pending, 422)
    identifier = Identifier(pending["kind"], pending["value"])
    try:
        with unit_of_work(commit_on=CodeRejected):  # the counted attempt must stick
            user = services.sign_in_with_code(identifier, form.code.data)
            services.signed_in(user)
            start_session(user, remember=True)
    except Invalid as error:
        show_errors(form, error)
        return _render_code(form, pending, 422)
    return _after_login(pending.get("next"))


@bp.post("/logout")
def logout():
    """Sign out: every session and remembered device of the account ends, copies included."""
    language = session.get("lang")
    if current_user.is_authenticated:
        with unit_of_work():
            services.end_all_sessions(current_user._get_current_object())
    session.clear()
    logout_user()  # after clear(): it leaves the flag that deletes the remember-me cookie
    if language:
        session["lang"] = language
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect("/", code=303)


# --- registration --------------------------------------------------------------------------


def _render_register(form: RegisterForm, status: int = 200):
    return render_template("accounts/register.html", form=form, by_email=_by_email()), status


@bp.route("/register", methods=["GET", "POST"])
@ip_limit
@destination_limit
def register():
    form = RegisterForm()
    if request.method == "GET":
        form.next.data = _next_from_request()
        return _render_register(form)
    if not form.validate_on_submit():
        return _render_register(form, 422)
    try:
        with unit_of_work():
            name = services.clean_name(form.name.data)
            identifier = parse_identifier(form.identifier.data, mobile_only=True)
            services.request_code(identifier, otp.REGISTER)
    except Invalid as error:
        show_errors(form, error)
        return _render_register(form, 422)
    _start_pending(identifier, otp.REGISTER, name=name, next=safe_next(form.next.data) or "")
    flash(_sent_message(identifier, otp.REGISTER), "info")
    return redirect(url_for("accounts.register_verify"), code=303)


@bp.route("/register/verify", methods=["GET", "POST"])
@ip_limit
def register_verify():
    pending = _pending(otp.REGISTER)
    if pending is None or not isinstance(pending.get("name"), str):
        return redirect(url_for("accounts.register"), code=303)
    form = CodeForm()
    if request.method == "GET":
        return _render_code(form, pending)
    if not form.validate_on_submit():
        return _render_code(form, pending, 422)
    identifier = Identifier(pending["kind"], pending["value"])
    try:
        with unit_of_work(commit_on=CodeRejected):  # the counted attempt must stick
            user, created = services.register_with_code(identifier, pending["name"], form.code.data)
            services.signed_in(user)
            start_session(user, remember=True)
    except DomainError as error:
        show_errors(form, error)
        return _render_code(form, pending, 422)
    if created:
        flash(
            _("Chào mừng bạn đến Chợ Quê! Bạn có thể đặt mật khẩu ở đây (không bắt buộc)."),
            "info",
        )
        return redirect(url_for("accounts.account"), code=303)
    flash(_("Số này đã có tài khoản. Bạn đã đăng nhập vào tài khoản đó."), "info")
    return _after_login(pending.get("next"))


# --- password reset ------------------------------------------------------------------------


def _render_reset(form: ResetRequestForm, status: int = 200):
    return render_template("accounts/reset.html", form=form, by_email=_by_email()), status


@bp.route("/reset", methods=["GET", "POST"])
@ip_limit
@destination_limit
def reset():
    form = ResetRequestForm()
    if request.method == "GET":
        return _render_reset(form)
    if not form.validate_on_submit():
        return _render_reset(form, 422)
    try:
        with unit_of_work():
            identifier = parse_identifier(form.identifier.data)
            services.request_code(identifier, otp.RESET)
    except Invalid as error:
        show_errors(form, error)
        return _render_reset(form, 422)
    _start_pending(identifier, otp.RESET)
    flash(_sent_message(identifier, otp.RESET), "info")
    return redirect(url_for("accounts.reset_verify"), code=303)


def _render_reset_verify(form: ResetForm, pending: dict[str, Any], status: int = 200):
    identifier = Identifier(pending["kind"], pending["value"])
    html = render_template("accounts/reset_verify.html", form=form, identifier=identifier)
    return html, status


@bp.route("/reset/verify", methods=["GET", "POST"])
@ip_limit
def reset_verify():
    pending = _pending(otp.RESET)
    if pending is None:
        return redirect(url_for("accounts.reset"), code=303)
    form = ResetForm()
    if request.method == "GET":
        return _render_reset_verify(form, pending)
    if not form.validate_on_submit():
        return _render_reset_verify(form, pending, 422)
    identifier = Identifier(pending["kind"], pending["value"])
    try:
        with unit_of_work(commit_on=CodeRejected):  # the counted attempt must stick
            check_strength(form.password.data)
            user = services.reset_with_code(identifier, form.code.data, form.password.data)
            services.signed_in(user)
            start_session(user, remember=False)
    except Invalid as error:
        show_errors(form, error)
        return _render_reset_verify(form, pending, 422)
    flash(_("Đã đặt mật khẩu mới. Các thiết bị khác đã được đăng xuất."), "info")
    return redirect(landing_url(), code=303)


# --- account -------------------------------------------------------------------------------


def _render_account(profile: ProfileForm, password: PasswordChangeForm, status: int = 200):
    html = render_template(
        "accounts/account.html",
        profile=profile,
        password=password,
        user=current_user,
        roles=_role_labels(current_user),
    )
    return html, status


def _role_labels(user: Any) -> list[str]:
    labels = [_("Quản trị nền tảng")] if user.is_platform_admin else []
    for seat in council_seats(user):
        if seat.level == CouncilLevel.CENTRAL:
            labels.append(_("Hội đồng OCOP trung ương"))
        else:
            place = province(seat.province_code)
            name = place.name if place else str(seat.province_code)
            labels.append(_("Hội đồng OCOP tỉnh %(province)s", province=name))
    return labels


@bp.get("/account")
@login_required
def account():
    profile = ProfileForm(prefix="profile", obj=current_user)
    return _render_account(profile, PasswordChangeForm(prefix="pw"))


@bp.post("/account")
@login_required
def account_update():
    profile = ProfileForm(prefix="profile")
    password = PasswordChangeForm(prefix="pw", formdata=None)
    if not profile.validate_on_submit():
        return _render_account(profile, password, 422)
    try:
        with unit_of_work():
            services.update_profile(current_user, profile.name.data, profile.locale.data)
    except Invalid as error:
        show_errors(profile, error)
        return _render_account(profile, password, 422)
    session["lang"] = current_user.locale
    flash(_("Đã lưu thông tin tài khoản."), "info")
    return redirect(url_for("accounts.account"), code=303)


@bp.post("/account/password")
@login_required
@ip_limit
def account_password():
    profile = ProfileForm(prefix="profile", formdata=None, obj=current_user)
    password = PasswordChangeForm(prefix="pw")
    if not password.validate_on_submit():
        return _render_account(profile, password, 422)
    user = current_user._get_current_object()
    try:
        with unit_of_work():
            services.change_password(
                user, password.current_password.data, password.new_password.data
            )
            login_user(user, remember=remember_cookie_present())  # this device stays signed in
    except Invalid as error:
        show_errors(password, error)
        return _render_account(profile, password, 422)
    flash(_("Đã đổi mật khẩu. Các thiết bị khác đã được đăng xuất."), "info")
    return redirect(url_for("accounts.account"), code=303)


@bp.post("/account/sessions")
@login_required
def account_sessions():
    user = current_user._get_current_object()
    with unit_of_work():
        services.end_other_sessions(user)
        login_user(user, remember=remember_cookie_present())
    flash(_("Đã đăng xuất khỏi mọi thiết bị khác."), "info")
    return redirect(url_for("accounts.account"), code=303)
