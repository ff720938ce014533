"""Statement uploads: keep the file, ask for its columns once per person and bank (then
remember them), import every good line (each through reconciliation.receive) and list the bad
ones with their line numbers."""

from __future__ import annotations

import json

from flask_babel import gettext as _
from sqlalchemy import select

from core.db import db, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.text import clean
from shop.payments import reconciliation_csv as statement_csv
from shop.payments.reconciliation import BANKS, Received, line_key, receive, settled_keys
from shop.payments.reconciliation_models import (
    FLAGGED,
    StatementProfile,
    StatementUpload,
    TransferStatus,
)


def start_upload(
    *, uploader_id: int, producer_id: int | None, bank: str, filename: str, raw: bytes
) -> StatementUpload:
    """Keep an uploaded statement until its columns are known."""
    errors = {}
    if bank not in BANKS:
        errors["bank"] = _("Chọn ngân hàng của sao kê.")
    if not raw:
        errors["statement"] = _("Chọn tệp sao kê (CSV).")
    if errors:
        raise Invalid(_("Vui lòng kiểm tra các ô được đánh dấu."), fields=errors)
    try:
        text = statement_csv.decode(raw)
        table = statement_csv.rows(text)
    except statement_csv.StatementError as error:
        raise Invalid(str(error), fields={"statement": str(error)}) from error
    if len(table) < 2:
        message = _("Tệp không có dòng giao dịch nào.")
        raise Invalid(message, fields={"statement": message})
    upload = StatementUpload(
        uploader_id=uploader_id,
        producer_id=producer_id,
        bank=bank,
        filename=clean(filename)[:200],
        content=text,
    )
    db.session.add(upload)
    db.session.flush()
    return upload


def upload_of(upload_id: int | None, producer_id: int | None) -> StatementUpload:
    """An upload of this scope (a producer's own, or the platform's); NotFound otherwise."""
    if upload_id is None:
        raise NotFound()
    upload = db.session.get(StatementUpload, upload_id)
    if upload is None or upload.producer_id != producer_id:
        raise NotFound()
    return upload


def remembered(owner_id: int, bank: str) -> dict[str, str] | None:
    raw = db.session.scalar(
        select(StatementProfile.mapping).where(
            StatementProfile.owner_id == owner_id, StatementProfile.bank == bank
        )
    )
    return json.loads(raw) if raw else None


def columns_of(upload: StatementUpload, owner_id: int) -> tuple[list[str], dict[str, str]]:
    """The file's headers and the mapping to propose: the remembered one if it fits the file,
    else a guess from the header names."""
    table = statement_csv.rows(upload.content)
    mapping = remembered(owner_id, upload.bank)
    if mapping and statement_csv.find_header(table, mapping):
        _index, headers = statement_csv.find_header(table, mapping)
        return headers, mapping
    found = statement_csv.find_header(table)
    headers = found[1] if found else []
    return headers, statement_csv.guess_mapping(headers)


def _remember(owner_id: int, bank: str, mapping: dict[str, str]) -> None:
    profile = db.session.scalar(
        select(StatementProfile).where(
            StatementProfile.owner_id == owner_id, StatementProfile.bank == bank
        )
    )
    if profile is None:
        profile = StatementProfile(owner_id=owner_id, bank=bank, mapping="{}")
        db.session.add(profile)
    profile.mapping = json.dumps(mapping, ensure_ascii=False, sort_keys=True)


def _counted(upload: StatementUpload, status: str, new: bool) -> None:
    if not new:
        upload.duplicates += 1
    elif status == TransferStatus.MATCHED:
        upload.applied += 1
    elif status in FLAGGED:
        upload.flagged += 1
    else:
        upload.unmatched += 1


def import_upload(
    upload_id: int | None, producer_id: int | None, mapping: dict[str, str], actor_id: int
) -> StatementUpload:
    """Import every good line of a kept statement with these columns (remembered for next
    time). Bad lines are listed with their line numbers; the good ones still import."""
    upload = upload_of(upload_id, producer_id)
    upload = db.session.scalar(
        select(StatementUpload)
        .where(StatementUpload.id == upload.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if upload.status != "pending":
        raise Conflict(_("Sao kê này đã được nhập."))
    mapping = {k: clean(v)[:120] for k, v in mapping.items() if k in statement_csv.FIELDS and v}
    headers, _proposed = columns_of(upload, actor_id)
    table = statement_csv.rows(upload.content)
    found = statement_csv.find_header(table, mapping) if mapping else None
    errors = statement_csv.check_mapping(mapping, found[1] if found else headers)
    if errors:
        raise Invalid(_("Vui lòng chọn các cột của sao kê."), fields=errors)
    parsed = statement_csv.parse(upload.content, mapping)
    seen: dict[tuple, int] = {}
    keyed = []
    for line in parsed.lines:
        triple = (line.booked_on, line.amount_vnd, line.description)
        seen[triple] = seen.get(triple, 0) + 1
        keyed.append((line.reference or line_key(*triple, seen[triple]), line))
    done_before = settled_keys(upload.bank, [key for key, _line in keyed], producer_id)
    for key, line in keyed:
        if key in done_before:
            upload.duplicates += 1
            continue
        status, new = receive(
            Received(
                bank=upload.bank,
                txn_key=key,
                source="statement",
                booked_on=line.booked_on,
                amount_vnd=line.amount_vnd,
                description=line.description,
                producer_id=producer_id,
                upload_id=upload.id,
                line_no=line.line_no,
            ),
            actor_id=actor_id,
        )
        _counted(upload, status, new)
    _remember(actor_id, upload.bank, mapping)
    upload.lines_total = parsed.total
    upload.errors = json.dumps(parsed.errors, ensure_ascii=False)
    upload.status = "imported"
    upload.imported_at = utcnow()
    db.session.flush()
    return upload


def errors_of(upload: StatementUpload) -> list[tuple[int, str]]:
    return [(int(line), str(message)) for line, message in json.loads(upload.errors or "[]")]


def uploads_of(producer_id: int | None, limit: int = 20) -> list[StatementUpload]:
    query = select(StatementUpload).where(
        StatementUpload.producer_id.is_(None)
        if producer_id is None
        else StatementUpload.producer_id == producer_id
    )
    return list(db.session.scalars(query.order_by(StatementUpload.id.desc()).limit(limit)))
