"""Platform admin pages: partner API keys."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accounts import api_keys
from accounts.api_keys import KNOWN_SCOPES
from accounts.forms import ApiKeyForm
from accounts.roles import admin_required
from core.db import unit_of_work
from core.errors import Invalid

bp = Blueprint("accounts_admin", __name__, url_prefix="/admin")


def _render_list(form: ApiKeyForm, status: int = 200):
    html = render_template(
        "accounts/admin_api_keys.html",
        form=form,
        keys=api_keys.list_api_keys(),
        known_scopes=KNOWN_SCOPES,
    )
    return html, status


@bp.get("/api-keys")
@admin_required
def list_keys():
    return _render_list(ApiKeyForm())


@bp.post("/api-keys")
@admin_required
def create_key():
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _render_list(form, 422)
    try:
        with unit_of_work():
            key, plain = api_keys.create_api_key(
                form.name.data, form.scopes.data, owner_id=current_user.id, actor_id=current_user.id
            )
    except Invalid as error:
        for name, message in error.fields.items():
            if name in form:
                form[name].errors = [*form[name].errors, str(message)]
        return _render_list(form, 422)
    html = render_template("accounts/admin_api_key_created.html", key=key, plain=plain)
    # Shown once: never cached by the browser or a proxy.
    return html, 201, {"Cache-Control": "no-store", "Pragma": "no-cache"}


@bp.post("/api-keys/<int:key_id>/revoke")
@admin_required
def revoke_key(key_id: int):
    with unit_of_work():
        key = api_keys.revoke_api_key(key_id, actor_id=current_user.id)
    flash(_("Đã thu hồi khoá %(prefix)s.", prefix=key.prefix), "info")
    return redirect(url_for("accounts_admin.list_keys"), code=303)
