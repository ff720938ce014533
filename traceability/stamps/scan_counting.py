"""One round trip per scan on PostgreSQL: the stamp's facts are read, its count raised and the
scan's row added by ONE data-modifying statement, run in autocommit on a pooled connection (no
BEGIN, no COMMIT, no session):

    WITH counted AS (UPDATE stamp SET scan_count = scan_count + 1, … WHERE code = :key
                     RETURNING id, code, …),
         scan_row AS (INSERT INTO scan (…) SELECT counted.id, :now, … FROM counted)
    SELECT counted.id, …, (the facts' correlated sub-queries over counted) FROM counted

The sub-statements share one snapshot and commit together when the statement ends: a scan
answered is a scan stored, with its counter (the UPDATE's row lock orders concurrent scans of one
stamp; each sees the count after its own). An unknown code updates nothing, inserts nothing and
returns no row. A read that counts nothing (JSON-LD, a HEAD, a bot) is the facts SELECT alone, in
autocommit too.

`SCAN_ASYNC_COMMIT` (off by default) commits these statements without waiting for the WAL
flush: `set_config('synchronous_commit', 'off', true)` is evaluated inside the statement, so it
holds for that statement's own implicit transaction and nothing else (SET LOCAL as a separate
statement would be its own transaction in autocommit; a per-connection SET would leak to every
later user of the pooled connection). Trade (docs/performance.md): a PostgreSQL crash — not an
app crash — may lose the last ≈ 0.6 s of answered scans.

SQLite, and a caller already inside a transaction of its own (its locks must not wait on
themselves), keep the session's path (scan_cache.count_scan: three statements, the caller's
unit of work commits).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, insert, literal_column, select, true, update

from core.compiled_sql import CompiledStatement, compiled
from core.db import db
from traceability.models import Scan, Stamp
from traceability.stamps.scan_cache import (
    StampFacts,
    facts_columns,
    facts_from_row,
    facts_statement,
    stamp_key,
    stamp_where,
)

AUTOCOMMIT = "scan_autocommit_engine"
# the stamp columns the facts read, returned by the counter's UPDATE
_RETURNED = (
    "id",
    "code",
    "serial",
    "state",
    "batch_id",
    "pin_hash",
    "scan_count",
    "first_scanned_at",
    "last_scanned_at",
    "run_id",
    "dl_serial",
)


def applies() -> bool:
    """Whether this read takes the one-statement path: PostgreSQL, and the session holds no
    transaction (a request that has not touched the database yet: the scan page's case)."""
    if db.engine.dialect.name != "postgresql":
        return False
    registry = db.session.registry  # no session made for a request that has none yet
    return not (registry.has() and registry().in_transaction())


@cache
def _counting_statement(by: str, async_commit: bool) -> Any:
    """Built once per way of finding the stamp: the counter, the row and the facts."""
    s, scan = Stamp.__table__, Scan.__table__
    now = bindparam("now", type_=s.c.last_scanned_at.type)
    counted = (
        update(s)
        .where(stamp_where(by))
        .values(
            scan_count=s.c.scan_count + 1,
            first_scanned_at=func.coalesce(s.c.first_scanned_at, now),
            last_scanned_at=now,
        )
        .returning(*[s.c[name] for name in _RETURNED])
        .cte("counted")
    )
    row = (
        insert(scan)
        .from_select(
            ["stamp_id", "scanned_at", "network", "client", "via"],
            select(
                counted.c.id,
                now,
                bindparam("network", type_=scan.c.network.type),
                bindparam("client", type_=scan.c.client.type),
                bindparam("via", type_=scan.c.via.type),
            ),
        )
        .cte("scan_row")
    )
    query = select(*facts_columns(counted)).add_cte(row)
    if async_commit:  # for this statement's own transaction only (see the module's note)
        setting = select(
            func.set_config("synchronous_commit", "off", true()).label("sync")
        ).subquery("async_commit")
        query = query.select_from(counted.join(setting, literal_column("true")))
    return query


def _autocommit_engine() -> Any:
    """The application's engine in autocommit (same pool: the isolation level is set on
    checkout and put back on return, client-side with psycopg)."""
    extensions = current_app.extensions
    base = db.engine
    made = extensions.get(AUTOCOMMIT)
    if made is None or made[0] is not base:  # made once per engine (it is not free)
        made = (base, base.execution_options(isolation_level="AUTOCOMMIT"))
        extensions[AUTOCOMMIT] = made
    return made[1]


def _run(statement: CompiledStatement, values: dict[str, Any]) -> tuple[Any, ...] | None:
    """One statement, one round trip, committed by PostgreSQL when it ends. Through
    SQLAlchemy's Connection so a dropped connection is seen as one (the pool refreshed, the
    GET retried once by core.db.retry_after_disconnect)."""
    with _autocommit_engine().connect() as connection:
        result = connection.exec_driver_sql(statement.sql, statement.parameters(values))
        return statement.convert(result.fetchone())


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
    """Count one scan and read the stamp's facts (the counts after this scan): one statement,
    committed when it returns. None for an unknown stamp (nothing written)."""
    by, key = stamp_key(code, stamp_id)
    async_commit = bool(current_app.config.get("SCAN_ASYNC_COMMIT"))
    statement = compiled(
        db.engine.dialect,
        f"count-{by}-{'async' if async_commit else 'sync'}",
        lambda: _counting_statement(by, async_commit),
    )
    values = {
        "key": key,
        "today": today,
        "now": now,
        "network": network[:48],
        "client": client[:32],
        "via": via,
    }
    return facts_from_row(_run(statement, values))


def stamp_facts(
    *, today: date, code: str | None = None, stamp_id: int | None = None
) -> StampFacts | None:
    """The stamp's facts without counting: the SELECT alone, in autocommit."""
    by, key = stamp_key(code, stamp_id)
    statement = compiled(db.engine.dialect, "facts-" + by, lambda: facts_statement(by))
    return facts_from_row(_run(statement, {"key": key, "today": today}))
