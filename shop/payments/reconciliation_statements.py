"""Statement uploads: keep the file, ask for its columns once per person and bank (then
remember them), import every good line (each through reconciliation.receive) and list the bad
ones with their line numbers."""

from __future__ import annotations

import json
import time

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core import jobs
from core.db import after_commit, db, is_sqlite, lock_row, unit_of_work, upsert, utcnow
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

TASK = "statements"


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
    return _columns(statement_csv.rows(upload.content), owner_id, upload.bank)


def _columns(table: list, owner_id: int, bank: str) -> tuple[list[str], dict[str, str]]:
    mapping = remembered(owner_id, bank)
    fitting = statement_csv.find_header(table, mapping) if mapping else None
    if fitting:
        return fitting[1], mapping
    found = statement_csv.find_header(table)
    headers = found[1] if found else []
    return headers, statement_csv.guess_mapping(headers)


def _remember(owner_id: int, bank: str, mapping: dict[str, str]) -> None:
    """Upsert: two statements of one bank imported at once both remember, neither fails."""
    value = json.dumps(mapping, ensure_ascii=False, sort_keys=True)
    insert = upsert(StatementProfile).values(
        owner_id=owner_id, bank=bank, mapping=value, updated_at=utcnow()
    )
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=["owner_id", "bank"],
            set_={"mapping": insert.excluded.mapping, "updated_at": insert.excluded.updated_at},
        )
    )


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
    """Check the columns chosen for a kept statement (remembered for next time), then import
    every good line now, or, for a statement longer than STATEMENT_INLINE_LINES, queue it for
    the background task (status `queued`): a month of a busy account must not hold a web
    request past its timeout. Bad lines are listed with their line numbers; the good ones
    still import."""
    upload = upload_of(upload_id, producer_id)
    upload = lock_row(StatementUpload, upload.id)
    if upload.status != "pending":
        raise Conflict(_("Sao kê này đã được nhập."))
    mapping = {k: clean(v)[:120] for k, v in mapping.items() if k in statement_csv.FIELDS and v}
    table = statement_csv.rows(upload.content)
    headers, _proposed = _columns(table, actor_id, upload.bank)
    found = statement_csv.find_header(table, mapping) if mapping else None
    errors = statement_csv.check_mapping(mapping, found[1] if found else headers)
    if errors:
        raise Invalid(_("Vui lòng chọn các cột của sao kê."), fields=errors)
    _remember(actor_id, upload.bank, mapping)
    upload.mapping = json.dumps(mapping, ensure_ascii=False, sort_keys=True)
    upload.uploader_id = actor_id  # who chose the columns answers for the import
    if _below(table, found) > current_app.config["STATEMENT_INLINE_LINES"]:
        upload.status = "queued"
        after_commit(lambda: jobs.kick(TASK))
    else:
        _import(upload)
    db.session.flush()
    return upload


def import_next_queued() -> StatementUpload | None:
    """The background task's step: import the oldest queued statement, in the caller's unit of
    work (a crash rolls it back and it stays queued). Workers running at once take different
    statements (PostgreSQL: SKIP LOCKED; SQLite: one writer at a time, the status re-read)."""
    query = select(StatementUpload.id).where(StatementUpload.status == "queued")
    query = query.order_by(StatementUpload.id).limit(1)
    if not is_sqlite():
        query = query.with_for_update(skip_locked=True)
    upload_id = db.session.scalar(query)
    if upload_id is None:
        return None
    upload = lock_row(StatementUpload, upload_id, touch=StatementUpload.status)
    if upload is None or upload.status != "queued":
        return None
    _import(upload)
    db.session.flush()
    return upload


def import_queued(max_seconds: float = 300.0) -> float | None:
    """The registered task: import queued statements, one unit of work each."""
    started = time.monotonic()
    while time.monotonic() - started < max_seconds:
        with unit_of_work():
            done = import_next_queued()
        if done is None:
            return None
    return 0.0


def _import(upload: StatementUpload) -> None:
    producer_id, actor_id = upload.producer_id, upload.uploader_id
    parsed = statement_csv.parse(upload.content, json.loads(upload.mapping or "{}"))
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
    upload.lines_total = parsed.total
    upload.errors = json.dumps(parsed.errors, ensure_ascii=False)
    upload.status = "imported"
    upload.imported_at = utcnow()


def data_lines(upload: StatementUpload) -> int:
    """Non-empty rows below the header row (an upper bound on the transactions)."""
    table = statement_csv.rows(upload.content)
    mapping = json.loads(upload.mapping) if upload.mapping else None
    return _below(table, statement_csv.find_header(table, mapping))


def _below(table: list, header: tuple[int, list[str]] | None) -> int:
    return len(table) - (header[0] + 1 if header else 1)


def errors_of(upload: StatementUpload) -> list[tuple[int, str]]:
    return [(int(line), str(message)) for line, message in json.loads(upload.errors or "[]")]


def uploads_of(producer_id: int | None, limit: int = 20) -> list[StatementUpload]:
    query = select(StatementUpload).where(
        StatementUpload.producer_id.is_(None)
        if producer_id is None
        else StatementUpload.producer_id == producer_id
    )
    return list(db.session.scalars(query.order_by(StatementUpload.id.desc()).limit(limit)))
