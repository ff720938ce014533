"""Admin pages of outgoing webhooks: a partner's endpoints (the secret shown once, when
created or rotated), the delivery log of every partner, and replay (POST with CSRF)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accounts.roles import admin_required
from core.db import unit_of_work, utcnow
from core.errors import Invalid
from core.numbers import parse_id
from partners import services as partner_services
from partners.webhooks import EVENTS, services
from partners.webhooks.models import DeliveryStatus

bp = Blueprint("partners_webhooks", __name__)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _endpoints_page(partner_id: int, values=None, errors=None, status: int = 200):
    partner = partner_services.get_partner(partner_id)
    html = render_template(
        "partners/admin_webhooks.html",
        partner=partner,
        endpoints=services.endpoints_of(partner.id),
        events=EVENTS,
        values=values or {"url": "", "events": []},
        errors=errors or {},
        now=utcnow(),
        overlap_hours=int(services.secret_overlap().total_seconds() // 3600),
    )
    return html, status


@bp.get("/admin/partners/<int:partner_id>/webhooks")
@admin_required
def admin_endpoints(partner_id: int):
    return _endpoints_page(partner_id)


@bp.post("/admin/partners/<int:partner_id>/webhooks")
@admin_required
def admin_add_endpoint(partner_id: int):
    values = {
        "url": request.form.get("url", "")[:600],
        "events": request.form.getlist("events")[:20],
    }
    try:
        with unit_of_work():
            endpoint, secret = services.add_endpoint(partner_id, values["url"], values["events"])
            url, name = endpoint.url, endpoint.partner.name
    except Invalid as error:
        errors = {k: str(v) for k, v in error.fields.items()} or {"url": str(error.message)}
        return _endpoints_page(partner_id, values, errors, 422)
    return _secret_page(partner_id, name, url, secret, 201)


def _secret_page(
    partner_id: int, name: str, url: str, secret: str, status: int, **rotation: Any
) -> tuple[str, int, dict[str, str]]:
    """The endpoint's secret, shown this once (never stored by a browser or a proxy)."""
    html = render_template(
        "partners/admin_webhook_secret.html",
        partner_id=partner_id,
        name=name,
        url=url,
        secret=secret,
        rotated=bool(rotation),
        **rotation,
    )
    return html, status, NO_STORE


@bp.post("/admin/partners/<int:partner_id>/webhooks/<int:endpoint_id>/active")
@admin_required
def admin_endpoint_active(partner_id: int, endpoint_id: int):
    active = request.form.get("active") == "1"
    with unit_of_work():
        services.set_endpoint_active(partner_id, endpoint_id, active)
    flash(_("Đã bật địa chỉ nhận.") if active else _("Đã tạm dừng địa chỉ nhận."), "info")
    return redirect(url_for("partners_webhooks.admin_endpoints", partner_id=partner_id), 303)


@bp.post("/admin/partners/<int:partner_id>/webhooks/<int:endpoint_id>/rotate-secret")
@admin_required
def admin_rotate_secret(partner_id: int, endpoint_id: int):
    """The new secret, shown this once; the previous one signs too until the overlap ends."""
    with unit_of_work():
        endpoint, secret = services.rotate_secret(
            partner_id, endpoint_id, actor_id=current_user.id, actor_role="admin"
        )
        url, name = endpoint.url, endpoint.partner.name
        previous_until = endpoint.previous_signs_until(utcnow())
    return _secret_page(partner_id, name, url, secret, 200, previous_until=previous_until)


@bp.get("/admin/webhooks/deliveries")
@admin_required
def admin_deliveries():
    status = request.args.get("status") or None
    if status not in (None, *services.STATUSES):
        status = None
    partner_id = parse_id(request.args.get("partner", ""))
    before = parse_id(request.args.get("before", ""))
    rows = services.deliveries(partner_id=partner_id, status=status, before=before)
    names = {p.id: p.name for p in partner_services.list_partners()}
    return render_template(
        "partners/admin_deliveries.html",
        rows=rows,
        names=names,
        status=status,
        partner_id=partner_id,
        statuses=services.STATUSES,
        next_before=rows[-1].id if len(rows) == services.PAGE else None,
        pending=DeliveryStatus.PENDING,
    )


@bp.post("/admin/webhooks/deliveries/<int:delivery_id>/replay")
@admin_required
def admin_replay(delivery_id: int):
    with unit_of_work():
        services.replay(delivery_id)
    flash(_("Sẽ gửi lại lần gửi #%(id)s ngay.", id=delivery_id), "info")
    return redirect(url_for("partners_webhooks.admin_deliveries"), 303)
