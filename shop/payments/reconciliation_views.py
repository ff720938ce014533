"""Reconciliation pages: a producer's manager (its own orders, under /manage/<id>/transfers) or
the platform admin (every order, under /admin/transfers) uploads a bank statement, chooses its
columns once, sees what was applied, flagged and left unmatched; and the signed bank
notification endpoint."""

from __future__ import annotations

from contextlib import suppress

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts.roles import admin_required
from cooperatives.access import MANAGERS, current_acting
from core.db import unit_of_work
from core.errors import Conflict, Invalid, NotFound, problem
from core.numbers import parse_id
from shop.payments import reconciliation as transfers
from shop.payments import reconciliation_statements as statements
from shop.payments import reconciliation_webhook as webhook
from shop.payments.reconciliation_csv import FIELD_LABELS, FIELDS, StatementError

bp = Blueprint("transfers", __name__)


def _producer(producer_id: int | None):
    """Who may act on this scope: the producer's managers, or (None) the platform admin."""
    if producer_id is None:
        return None
    return current_acting(producer_id, MANAGERS).producer


def _url(endpoint: str, producer_id: int | None, **values) -> str:
    if producer_id is None:
        return url_for(f"transfers.admin_{endpoint}", **values)
    return url_for(f"transfers.{endpoint}", producer_id=producer_id, **values)


def _page(
    producer_id: int | None,
    *,
    status: int = 200,
    errors: dict | None = None,
    notes: dict | None = None,
    note_errors: dict | None = None,
):
    producer = _producer(producer_id)
    rows = transfers.open_transfers(producer_id)
    recent = transfers.recent_transfers(producer_id)
    html = render_template(
        "shop/payments/transfers.html",
        producer=producer,
        scope=producer_id,
        url=_url,
        open_rows=rows,
        recent=recent,
        refs=transfers.order_refs([t.order_id for t in [*rows, *recent]]),
        uploads=statements.uploads_of(producer_id),
        banks=transfers.BANKS,
        label=transfers.status_label,
        errors=errors or {},
        notes=notes or {},
        note_errors=note_errors or {},
        chosen_bank=request.form.get("bank", ""),
    )
    return html, status


def transfers_page(producer_id: int | None = None):
    return _page(producer_id)


def upload(producer_id: int | None = None):
    _producer(producer_id)
    file = request.files.get("statement")
    raw, filename = b"", ""
    if file is not None:
        with file.stream:  # a big upload is a temporary file: closed at once
            raw, filename = file.read(statements.statement_csv.MAX_BYTES + 1), file.filename or ""
    try:
        with unit_of_work():
            kept = statements.start_upload(
                uploader_id=current_user.id,
                producer_id=producer_id,
                bank=request.form.get("bank", ""),
                filename=filename,
                raw=raw,
            )
            upload_id = kept.id
            mapping = statements.remembered(current_user.id, kept.bank)
            if mapping:  # columns chosen before for this bank: import at once if they fit
                # this file's columns may differ: then the person chooses them on the next page
                with suppress(Invalid, StatementError):
                    statements.import_upload(upload_id, producer_id, mapping, current_user.id)
    except Invalid as error:
        return _page(producer_id, status=422, errors={k: str(v) for k, v in error.fields.items()})
    return redirect(_url("statement", producer_id, upload=upload_id), 303)


def _statement_page(producer_id, upload, *, status=200, mapping=None, errors=None):
    headers, proposed = statements.columns_of(upload, current_user.id)
    html = render_template(
        "shop/payments/statement.html",
        producer=_producer(producer_id),
        scope=producer_id,
        url=_url,
        upload=upload,
        bank_name=transfers.BANKS.get(upload.bank, upload.bank),
        headers=headers,
        mapping=mapping if mapping is not None else proposed,
        fields=FIELDS,
        field_labels=FIELD_LABELS,
        line_count=statements.data_lines(upload),
        line_errors=statements.errors_of(upload),
        errors=errors or {},
    )
    return html, status


def statement(producer_id: int | None = None):
    _producer(producer_id)
    upload_id = parse_id(request.values.get("upload"))
    if upload_id is None:  # no statement named: the page that lists them
        return redirect(_url("transfers", producer_id), 303)
    kept = statements.upload_of(upload_id, producer_id)
    if request.method == "GET":
        return _statement_page(producer_id, kept)
    mapping = {field: request.form.get(field, "")[:120] for field in FIELDS}
    try:
        with unit_of_work():
            done = statements.import_upload(upload_id, producer_id, mapping, current_user.id)
            counts = (done.applied, done.flagged, done.unmatched, done.duplicates)
            queued = done.status == "queued"
    except Invalid as error:
        fields = {k: str(v) for k, v in error.fields.items()} or {"date": str(error.message)}
        kept = statements.upload_of(upload_id, producer_id)
        return _statement_page(producer_id, kept, status=422, mapping=mapping, errors=fields)
    except (Conflict, StatementError) as error:
        flash(str(getattr(error, "message", error)), "error")
        return redirect(_url("statement", producer_id, upload=upload_id), 303)
    if queued:
        flash(_("Sao kê dài: đang nhập, trang này tự cập nhật khi xong."), "success")
        return redirect(_url("statement", producer_id, upload=upload_id), 303)
    flash(
        _(
            "Đã nhập: %(applied)s đơn đã thanh toán, %(flagged)s cần xử lý, %(unmatched)s chưa"
            " khớp, %(dup)s đã nhập trước đó.",
            applied=counts[0],
            flagged=counts[1],
            unmatched=counts[2],
            dup=counts[3],
        ),
        "success",
    )
    return redirect(_url("statement", producer_id, upload=upload_id), 303)


def resolve(producer_id: int | None = None):
    _producer(producer_id)
    transfer_id = parse_id(request.form.get("transfer_id"))
    note = request.form.get("note", "")
    try:
        with unit_of_work():
            transfers.resolve(producer_id, transfer_id, note, current_user.id)
    except Invalid as error:  # the typed note stays in its box
        message = str(next(iter(error.fields.values()), error.message))
        return _page(
            producer_id, status=422, notes={transfer_id: note}, note_errors={transfer_id: message}
        )
    except Conflict as error:
        flash(str(error.message), "error")
    else:
        flash(_("Đã ghi nhận cách xử lý."), "success")
    return redirect(_url("transfers", producer_id), 303)


def _route(path: str, endpoint: str, view, methods=("GET",)) -> None:
    bp.add_url_rule(
        f"/manage/<int:producer_id>/transfers{path}",
        endpoint,
        login_required(view),
        methods=list(methods),
    )
    bp.add_url_rule(
        f"/admin/transfers{path}",
        f"admin_{endpoint}",
        admin_required(view),
        methods=list(methods),
        defaults={"producer_id": None},
    )


_route("", "transfers", transfers_page)
_route("/statements", "upload", upload, ("POST",))
_route("/statement", "statement", statement, ("GET", "POST"))
_route("/resolve", "resolve", resolve, ("POST",))


@bp.post("/payments/bank-notifications")
def bank_notification():
    """A bank-notification service says money arrived. Signature first; nothing is changed by
    a forged, stale or malformed notification (400), and a repeated one is applied once."""
    body = request.get_data(cache=False)
    config = current_app.config
    try:
        webhook.verify(
            config["BANK_WEBHOOK_SECRET"],
            request.headers.get("X-Bank-Timestamp"),
            request.headers.get("X-Bank-Signature"),
            body,
            tolerance=config["BANK_WEBHOOK_TOLERANCE"],
        )
        notification = webhook.read(body)
    except webhook.BadNotification as error:
        return problem(400, _("Thông báo bị từ chối."), str(error), "bad_notification")
    if not notification.incoming:
        return {"status": "ignored"}, 200
    if notification.account and notification.account != config["VIETQR_ACCOUNT_NO"]:
        return {"status": "ignored"}, 200
    try:
        with unit_of_work():
            status, new = transfers.receive(notification.received)
    except NotFound:
        return problem(404, _("Không tìm thấy."), code="not_found")
    return {"status": status if new else "duplicate", "transfer": status}, 200
