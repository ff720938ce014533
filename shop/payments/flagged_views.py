"""The platform admin's list of payment events that need a person (/admin/payments/flagged)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accounts.roles import admin_required
from core.db import unit_of_work
from core.errors import Conflict, Invalid
from core.numbers import parse_id
from shop.payments import flagged

bp = Blueprint("flagged_payments", __name__, url_prefix="/admin/payments/flagged")


def _page(*, status: int = 200, typed: dict | None = None, errors: dict | None = None):
    html = render_template(
        "shop/payments/flagged.html",
        flags=flagged.open_flags(),
        typed=typed or {},
        errors=errors or {},
    )
    return html, status


@bp.get("")
@admin_required
def index():
    return _page()


@bp.post("/resolve")
@admin_required
def resolve():
    event_id = parse_id(request.form.get("event_id"))
    note = request.form.get("note", "")
    try:
        with unit_of_work():
            flagged.resolve_flag(event_id, note, current_user.id)
    except Invalid as error:
        message = str(next(iter(error.fields.values()), error.message))
        return _page(status=422, typed={event_id: note}, errors={event_id: message})
    except Conflict as error:
        flash(str(error.message), "error")
    else:
        flash(_("Đã ghi nhận cách xử lý."), "success")
    return redirect(url_for("flagged_payments.index"), 303)
