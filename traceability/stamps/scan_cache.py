"""The scan page's facts: one statement reads a stamp and the version of everything its page
shows (run pre-compiled, core.compiled_sql); the lot's part of the page (product, producer,
OCOP stars, facts, journey, lineage, photos) is rendered once per version and kept in a small
per-process cache (core.fragment_cache), and in Redis when `REDIS_URL` is set (shared by every
worker and host, under the same exact version).

Never stale: the version tuple holds every value whose change alters that part of the page —
the lot's status, recall time and chain head (a new event changes the head), the product's and
producer's `updated_at`, the certificate valid *today* (Asia/Ho_Chi_Minh, computed in SQL with
today's date, so a lapse at midnight changes it), the lot's photos, and its neighbours in the
lineage (count, recalls, their products' edits) — and the locale (in the key). Not the date
itself: a part outlives midnight unless something on it changed. Each request reads the version
afresh; only the HTML built from it is reused.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple

from flask import Flask
from markupsafe import Markup
from sqlalchemy import Date, bindparam, case, func, or_, select, update

from cooperatives import ocop
from cooperatives.models import OcopCertificate, Producer, Product
from core.compiled_sql import compiled, session_cursor
from core.fragment_cache import Codec, FragmentCache, app_cache
from traceability.models import Batch, BatchImage, BatchInput, Stamp, StampRun
from traceability.stamps import scans

MAX_ENTRIES = 2048  # lots × locales kept per process; a fragment is 3–6 KB
EXTENSION = "scan_fragments"


class StampFacts(NamedTuple):
    """A stamp as its page needs it, and the version of its lot's part of the page."""

    id: int
    code: str
    serial: int
    state: str
    batch_id: int | None
    has_pin: bool
    scan_count: int
    first_scanned_at: datetime | None
    last_scanned_at: datetime | None
    dl_gtin: str | None
    dl_lot: str | None
    dl_serial: str | None
    product_status: str | None  # a stamp of a product not public shows no product (is_public)
    batch_status: str | None
    chain_head: str | None
    recalled_at: datetime | None
    product_id: int | None
    product_updated_at: datetime | None
    producer_updated_at: datetime | None
    certificate_id: int | None  # the certificate shown: the best one valid today
    photo_count: int
    photo_last_id: int | None
    lineage_count: int
    lineage_recalled_at: datetime | None
    lineage_updated_at: datetime | None

    def version(self) -> tuple[Hashable, ...]:
        """What the lot part shows changes only with these. Not the date: the one date-bound
        fact, the certificate, is chosen for today by the statement (`certificate_id` becomes
        None the day it lapses), so the parts of every lot do not all expire at midnight."""
        return self[self._fields.index("batch_status") :]


def facts_columns(s: Any = None) -> tuple[Any, ...]:
    """StampFacts as expressions over the stamp row `s` (the table, or the row a counting
    statement returns: scan_counting), correlated sub-queries for the rest (each an index
    look-up)."""
    if s is None:
        s = Stamp.__table__
    b, r = Batch.__table__, StampRun.__table__
    p, pr, c = Product.__table__, Producer.__table__, OcopCertificate.__table__
    bi, img = BatchInput.__table__, BatchImage.__table__
    nb, np_ = Batch.__table__.alias("nb"), Product.__table__.alias("np")
    today = bindparam("today", type_=Date())
    lot = b.c.id == s.c.batch_id

    def one(column: Any, *where: Any, source: Any = None) -> Any:
        query = select(column)
        if source is not None:
            query = query.select_from(source)
        return query.where(*where).correlate(s).scalar_subquery()

    certificate = (  # the rule and order of cooperatives.ocop.valid_certificates, shared
        select(c.c.id)
        .select_from(b.join(c, c.c.product_id == b.c.product_id))
        .where(lot, ocop.valid_on(today))
        .order_by(*ocop.best_first())
        .limit(1)
        .correlate(s)
        .scalar_subquery()
    )
    mine = or_(bi.c.child_id == s.c.batch_id, bi.c.parent_id == s.c.batch_id)
    neighbour = nb.c.id == case(
        (bi.c.child_id == s.c.batch_id, bi.c.parent_id), else_=bi.c.child_id
    )
    lineage = bi.join(nb, neighbour).join(np_, np_.c.id == nb.c.product_id)
    return (
        s.c.id,
        s.c.code,
        s.c.serial,
        s.c.state,
        s.c.batch_id,
        s.c.pin_hash.is_not(None),
        s.c.scan_count,
        s.c.first_scanned_at,
        s.c.last_scanned_at,
        one(r.c.dl_gtin, r.c.id == s.c.run_id),
        one(r.c.dl_lot, r.c.id == s.c.run_id),
        s.c.dl_serial,
        one(p.c.status, lot, source=b.join(p, p.c.id == b.c.product_id)),
        one(b.c.status, lot),
        one(b.c.chain_head, lot),
        one(b.c.recalled_at, lot),
        one(b.c.product_id, lot),
        one(p.c.updated_at, lot, source=b.join(p, p.c.id == b.c.product_id)),
        one(pr.c.updated_at, lot, source=b.join(pr, pr.c.id == b.c.producer_id)),
        certificate,
        one(func.count(), img.c.batch_id == s.c.batch_id, source=img),
        one(func.max(img.c.id), img.c.batch_id == s.c.batch_id),
        one(func.count(), mine, source=bi),
        one(func.max(nb.c.recalled_at), mine, source=lineage),
        one(func.max(np_.c.updated_at), mine, source=lineage),
    )


def stamp_where(by: str) -> Any:
    """The stamp asked for: by its normalised code or by its id (bound as `key`)."""
    s = Stamp.__table__
    return s.c.code == bindparam("key") if by == "code" else s.c.id == bindparam("key")


@cache
def facts_statement(by: str) -> Any:
    """Built once: constructing a statement with sub-queries costs more than running it."""
    return select(*facts_columns()).where(stamp_where(by))


def facts_from_row(row: Any) -> StampFacts | None:
    if row is None:
        return None
    values = list(row)
    values[5] = bool(values[5])
    values[20] = values[20] or 0  # photo_count
    values[22] = values[22] or 0  # lineage_count
    return StampFacts(*values)


def stamp_key(code: str | None, stamp_id: int | None) -> tuple[str, Any]:
    return ("code", code) if code is not None else ("id", stamp_id)


def stamp_facts(
    *, today: date, code: str | None = None, stamp_id: int | None = None
) -> StampFacts | None:
    """The stamp with this (normalised) code or id, or None. One SELECT."""
    dialect, cursor = session_cursor()
    try:
        return _read_facts(dialect, cursor, today, code, stamp_id)
    finally:
        cursor.close()


def _read_facts(
    dialect: Any, cursor: Any, today: date, code: str | None, stamp_id: int | None
) -> StampFacts | None:
    by, key = stamp_key(code, stamp_id)
    statement = compiled(dialect, "facts-" + by, lambda: facts_statement(by))
    statement.execute(cursor, {"key": key, "today": today})
    return facts_from_row(statement.row(cursor))


def count_scan(
    *,
    today: date,
    now: datetime,
    network: str,
    client: str,
    via: str,
    code: str | None = None,
    stamp_id: int | None = None,
) -> StampFacts | None:
    """Read the stamp's facts, count one scan with one UPDATE … RETURNING (atomic in SQL: no
    lost update under concurrent scans) and add its row: three statements on one cursor, in
    the session's transaction; the
    caller commits. The facts carry the counts after the scan. None for an unknown stamp."""
    dialect, cursor = session_cursor()
    try:
        facts = _read_facts(dialect, cursor, today, code, stamp_id)
        if facts is None:
            return None
        statement = compiled(dialect, "count", _count_statement)
        statement.execute(cursor, {"stamp": facts.id, "now": now})
        row = statement.row(cursor)
        cursor.fetchall()  # drain: the UPDATE completes before the next statement runs
        assert row is not None  # read in this transaction; stamps are never deleted
        statement = compiled(dialect, "scan-row", scans.scan_row_statement)
        statement.execute(
            cursor,
            {
                "stamp": facts.id,
                "now": now,
                "network": network[:48],
                "client": client[:32],
                "via": via,
            },
        )
    finally:
        cursor.close()
    count, first, last = row
    return facts._replace(scan_count=count, first_scanned_at=first, last_scanned_at=last)


@cache
def _count_statement() -> Any:
    s = Stamp.__table__
    now = bindparam("now", type_=s.c.last_scanned_at.type)
    return (
        update(s)
        .where(s.c.id == bindparam("stamp"))
        .values(
            scan_count=s.c.scan_count + 1,
            first_scanned_at=func.coalesce(s.c.first_scanned_at, now),
            last_scanned_at=now,
        )
        .returning(s.c.scan_count, s.c.first_scanned_at, s.c.last_scanned_at)
    )


@dataclass(frozen=True)
class LotFragment:
    """The lot's part of a stamp page, rendered, with the few facts the verdict names."""

    batch_id: int
    lot_code: str
    product_name: str
    producer_name: str
    recalled: bool
    recall_html: Markup
    lot_html: Markup
    epcis_path: str


def _dump_lot(fragment: LotFragment) -> bytes:
    return json.dumps(dataclasses.asdict(fragment), ensure_ascii=False).encode()


def _load_lot(blob: bytes) -> LotFragment:
    fields = json.loads(blob)
    for name in ("recall_html", "lot_html"):
        fields[name] = Markup(fields[name])  # noqa: S704 - stored as rendered (escaped) HTML
    return LotFragment(**fields)


# the lot parts are shared by every worker through Redis when it is configured
LOT_CODEC = Codec(_dump_lot, _load_lot)


def fragments(app: Flask | None = None) -> FragmentCache:
    """This application's cache of rendered stamp-page pieces (lots × locales, page pieces)."""
    return app_cache(EXTENSION, app, MAX_ENTRIES)
