"""The scan page's fast path: one statement reads a stamp and the version of everything its
page shows; the lot's part of the page (product, producer, OCOP stars, facts, journey,
lineage, photos) is rendered once per version and kept in a small per-process cache.

Never stale: the version tuple holds every value whose change alters that part of the page —
the lot's status, recall time and chain head (a new event changes the head), the product's and
producer's `updated_at`, the certificate valid *today* (Asia/Ho_Chi_Minh, computed in SQL with
today's date, so a lapse at midnight changes it), the lot's photos, and its neighbours in the
lineage (count, recalls, their products' edits) — plus the date and the locale. Each request
reads the version afresh; only the HTML built from it is reused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from threading import Lock
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from flask import Flask, current_app
from markupsafe import Markup
from sqlalchemy import Date, bindparam, case, func, or_, select, update

from cooperatives.models import CertificateStatus, OcopCertificate, Producer, Product
from core.db import db
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

    def version(self, today: date) -> tuple[Hashable, ...]:
        return (today, *self[self._fields.index("batch_status") :])


def _facts_columns() -> tuple[Any, ...]:
    """StampFacts as expressions over the stamp row (correlated sub-queries for the rest: each
    an index look-up)."""
    s, b, r = Stamp.__table__, Batch.__table__, StampRun.__table__
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

    certificate = (  # same rule and order as cooperatives.ocop.valid_certificates
        select(c.c.id)
        .select_from(b.join(c, c.c.product_id == b.c.product_id))
        .where(
            lot,
            c.c.status == CertificateStatus.VALID.value,
            c.c.valid_until >= today,
            c.c.decision_date <= today,
        )
        .order_by(c.c.stars.desc(), c.c.decision_date.desc(), c.c.id.desc())
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


def _where(by: str) -> Any:
    s = Stamp.__table__
    return s.c.code == bindparam("key") if by == "code" else s.c.id == bindparam("key")


@cache
def _facts_statement(by: str) -> Any:
    """Built once: constructing a statement with sub-queries costs more than running it."""
    return select(*_facts_columns()).where(_where(by))


def _facts(row: Any) -> StampFacts | None:
    if row is None:
        return None
    values = list(row)
    values[5] = bool(values[5])
    values[18] = values[18] or 0
    values[20] = values[20] or 0
    return StampFacts(*values)


def _key(code: str | None, stamp_id: int | None) -> tuple[str, Any]:
    return ("code", code) if code is not None else ("id", stamp_id)


class RawStatement:
    """A Core statement compiled once for a dialect and run on the DBAPI cursor of the
    session's connection (same transaction; parameters bound by the driver, converted by the
    statement's own bind and result processors). Compiling and caching a statement with
    twenty sub-queries costs more per request than running it."""

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.names = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.processors = dict(compiled._bind_processors)
        constants = compiled.construct_params(_check=False)
        self.constants = {
            name: self.processors[name](value) if name in self.processors else value
            for name, value in constants.items()
            if value is not None
        }
        self.results = tuple(
            column[3]._cached_result_processor(dialect, None) for column in compiled._result_columns
        )

    def execute(self, cursor: Any, values: dict[str, Any]) -> Any:
        params = dict(self.constants)
        processors = self.processors
        for name, value in values.items():
            processor = processors.get(name)
            params[name] = processor(value) if processor is not None else value
        if self.names is not None:
            cursor.execute(self.sql, tuple([params[name] for name in self.names]))
        else:
            cursor.execute(self.sql, params)

    def row(self, cursor: Any) -> tuple[Any, ...] | None:
        row = cursor.fetchone()
        if row is None:
            return None
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self.results, row, strict=True)
        )


_RAW: WeakKeyDictionary[Any, dict[str, RawStatement]] = WeakKeyDictionary()
_RAW_LOCK = Lock()


class _Cursor(NamedTuple):
    dialect: Any
    cursor: Any


def _cursor() -> _Cursor:
    """A DBAPI cursor of the session's connection (its transaction begun if need be)."""
    connection = db.session.connection()
    return _Cursor(connection.dialect, connection.connection.cursor())


def _raw(dialect: Any, name: str, build: Callable[[], Any]) -> RawStatement:
    """The statement compiled once for this dialect."""
    statements = _RAW.get(dialect)
    statement = statements.get(name) if statements is not None else None
    if statement is None:
        statement = RawStatement(build(), dialect)
        with _RAW_LOCK:
            _RAW.setdefault(dialect, {})[name] = statement
    return statement


def stamp_facts(
    *, today: date, code: str | None = None, stamp_id: int | None = None
) -> StampFacts | None:
    """The stamp with this (normalised) code or id, or None. One SELECT."""
    dialect, cursor = _cursor()
    try:
        return _read_facts(dialect, cursor, today, code, stamp_id)
    finally:
        cursor.close()


def _read_facts(
    dialect: Any, cursor: Any, today: date, code: str | None, stamp_id: int | None
) -> StampFacts | None:
    by, key = _key(code, stamp_id)
    statement = _raw(dialect, "facts-" + by, lambda: _facts_statement(by))
    statement.execute(cursor, {"key": key, "today": today})
    return _facts(statement.row(cursor))


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
    lost update under concurrent scans) and add its row (the same INSERT as
    `scans.log_scan`): three statements on one cursor, in the session's transaction; the
    caller commits. The facts carry the counts after the scan. None for an unknown stamp.

    On PostgreSQL the three are one statement run in autocommit on a pooled connection of its
    own (`_count_scan_in_one_statement`): one round trip, no BEGIN/COMMIT."""
    if db.engine.dialect.name == "postgresql":
        return _count_scan_in_one_statement(
            today=today, now=now, network=network, client=client, via=via, key=_key(code, stamp_id)
        )
    dialect, cursor = _cursor()
    try:
        facts = _read_facts(dialect, cursor, today, code, stamp_id)
        if facts is None:
            return None
        statement = _raw(dialect, "count", _count_statement)
        statement.execute(cursor, {"stamp": facts.id, "now": now})
        row = statement.row(cursor)
        cursor.fetchall()  # drain: the UPDATE completes before the next statement runs
        assert row is not None  # read in this transaction; stamps are never deleted
        statement = _raw(dialect, "scan-row", lambda: scans.scan_statements()[1])
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


class _CountingStatement(RawStatement):
    """PostgreSQL: the facts SELECT, the counter's UPDATE … RETURNING and the scan row's INSERT
    as one statement (data-modifying CTEs see one snapshot and commit together): it returns
    the facts with the counts after this scan, or no row for an unknown stamp."""

    def __init__(self, by: str, dialect: Any) -> None:
        facts = RawStatement(_facts_statement(by), dialect)
        columns = [f"c{i}" for i in range(len(facts.results))]
        shown = list(columns)
        at = StampFacts._fields.index("scan_count")
        shown[at : at + 3] = [
            "counted.scan_count",
            "counted.first_scanned_at",
            "counted.last_scanned_at",
        ]
        # compiled SQL and fixed column names only: every value is bound by the driver
        self.sql = "".join(
            [
                "WITH facts(",
                ", ".join(columns),
                ") AS (",
                facts.sql,
                "), counted AS (UPDATE stamp SET scan_count = stamp.scan_count + 1, "
                "first_scanned_at = coalesce(stamp.first_scanned_at, %(now)s), "
                "last_scanned_at = %(now)s FROM facts WHERE stamp.id = facts.c0 "
                "RETURNING stamp.scan_count, stamp.first_scanned_at, stamp.last_scanned_at), "
                "logged AS (INSERT INTO scan (stamp_id, scanned_at, network, client, via) "
                "SELECT c0, %(now)s, %(network)s, %(client)s, %(via)s FROM facts) SELECT ",
                ", ".join(shown),
                " FROM facts CROSS JOIN counted",
            ]
        )
        self.names = None
        self.processors = facts.processors
        self.constants = facts.constants
        self.results = facts.results


_COUNTING: dict[str, _CountingStatement] = {}


def _count_scan_in_one_statement(
    *, today: date, now: datetime, network: str, client: str, via: str, key: tuple[str, Any]
) -> StampFacts | None:
    """One round trip in autocommit on a connection of the pool (not the session's: the page
    needs no transaction). A connection found dead (server restarted, idle connection cut) is
    thrown away and the statement run once more on a fresh one — there is no pre-ping; if it
    died after PostgreSQL committed the scan, that scan is counted twice, never lost."""
    by, value = key
    statement = _COUNTING.get(by)
    if statement is None:
        statement = _COUNTING.setdefault(by, _CountingStatement(by, db.engine.dialect))
    values = {
        "key": value,
        "today": today,
        "now": now.astimezone(UTC),
        "network": network[:48],
        "client": client[:32],
        "via": via,
    }
    for attempt in (1, 2):
        pooled = db.engine.raw_connection()
        try:
            connection = pooled.driver_connection
            connection.autocommit = True
            try:
                with connection.cursor() as cursor:
                    statement.execute(cursor, values)
                    return _facts(statement.row(cursor))
            finally:
                if not connection.closed:
                    connection.autocommit = False
        except Exception as error:
            if attempt == 2 or not _disconnected(error, pooled):
                raise
            pooled.invalidate()
            db.engine.dispose()  # its idle siblings died with it: open fresh ones
        finally:
            pooled.close()
    raise AssertionError("unreachable")


def _disconnected(error: Exception, pooled: Any) -> bool:
    dbapi = db.engine.dialect.loaded_dbapi
    if not isinstance(error, dbapi.Error):
        return False
    return db.engine.dialect.is_disconnect(error, pooled.driver_connection, None)


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


class FragmentCache:
    """A bounded least-recently-used map key → (version, value); a value is returned only for
    the exact version it was built from."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[Hashable, Any]] = {}
        self._lock = Lock()
        self.hits = 0
        self.misses = 0

    def get_or_build(self, key: Hashable, version: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None and entry[0] == version:
                self._entries[key] = entry  # most recently used goes last
                self.hits += 1
                return entry[1]
        self.misses += 1
        value = build()
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (version, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def fragments(app: Flask | None = None) -> FragmentCache:
    """This application's cache (one per app, so tests with fresh databases never share)."""
    app = app or current_app
    cache_ = app.extensions.get(EXTENSION)
    if cache_ is None:
        cache_ = app.extensions.setdefault(EXTENSION, FragmentCache())
    return cache_


# --- lot parts shared by every worker and host (Redis, when configured) ---------------------

SHARED_EXTENSION = "scan_lot_parts"
SHARED_TTL = 86400  # seconds a lot part stays in Redis unread


class SharedLotParts:
    """Rendered lot parts in Redis, under their exact version: a worker that starts cold (a
    deploy, a restart, a SIGKILLed worker) takes the part another worker built instead of
    running the dozen statements and templates that build it. The per-process cache stays in
    front; a part is taken from Redis only for the very version this request read."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self._client: Any = None
        self._pid = 0

    @property
    def client(self) -> Any:
        import os

        if self._client is None or self._pid != os.getpid():  # never share a socket after fork
            import redis

            self._client = redis.Redis.from_url(self.url, socket_timeout=0.5)
            self._pid = os.getpid()
        return self._client

    def _key(self, key: Hashable) -> str:
        batch_id, locale = key  # type: ignore[misc]
        return f"{self.prefix}lot:{int(batch_id)}:{locale}"

    def get(self, key: Hashable, version: Hashable) -> LotFragment | None:
        raw = self.client.get(self._key(key))
        if raw is None:
            return None
        data = json.loads(raw)
        if data.get("version") != repr(version):
            return None
        value = data["value"]
        return LotFragment(
            batch_id=value["batch_id"],
            lot_code=value["lot_code"],
            product_name=value["product_name"],
            producer_name=value["producer_name"],
            recalled=value["recalled"],
            recall_html=Markup(value["recall_html"]),  # noqa: S704 - rendered by us, escaped
            lot_html=Markup(value["lot_html"]),  # noqa: S704 - rendered by us, escaped
            epcis_path=value["epcis_path"],
        )

    def put(self, key: Hashable, version: Hashable, part: LotFragment) -> None:
        value = {name: str(v) if isinstance(v, Markup) else v for name, v in vars(part).items()}
        body = json.dumps({"version": repr(version), "value": value}, ensure_ascii=False)
        self.client.set(self._key(key), body, ex=SHARED_TTL)


def shared_lot_part(key: Hashable, version: Hashable, build: Callable[[], LotFragment]) -> Any:
    """The lot part from Redis when another worker built this version, else built (and shared).
    Redis down: built here, never a 500."""
    shared = current_app.extensions.get(SHARED_EXTENSION)
    if shared is None:
        return build()
    try:
        part = shared.get(key, version)
        if part is not None:
            return part
    except Exception:
        current_app.logger.warning("shared lot parts unavailable", exc_info=True)
        return build()
    part = build()
    try:
        shared.put(key, version, part)
    except Exception:
        current_app.logger.warning("shared lot parts unavailable", exc_info=True)
    return part


def init_app(app: Flask) -> None:
    if app.config.get("SCAN_LOT_PARTS_IN_REDIS") and app.config.get("REDIS_URL"):
        prefix = app.config.get("PAGE_CACHE_PREFIX") or "choque:"
        app.extensions[SHARED_EXTENSION] = SharedLotParts(app.config["REDIS_URL"], prefix)
