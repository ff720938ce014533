"""Reads of anonymous public pages from a PostgreSQL read replica, never older than the page
cache was told (`DATABASE_REPLICA_URL`; unset: everything reads the primary, as before).

Which requests: a view decorated with `@replica_reads` (home, producer, product, search and
group pages), asked with GET/HEAD by a visitor without a session or remember cookie. Everything
else — writes, anyone signed in (managers read their own writes), the scan page (it counts the
scan in the statement that reads the stamp), partner feeds (incremental by `updated_since`: a
lagging snapshot could make a partner skip a change for good) — reads the primary. Inside a
routed request only reads go to the replica: a flush or an INSERT/UPDATE/DELETE still goes to
the primary (core.db.RoutingSession).

Never older than the page cache: the page cache's invalidation assumes that a page built after
a tag bump sees every row committed before that bump. So when a commit bumps page tags, the
primary's WAL insert position (`pg_current_wal_insert_lsn()`, which is past the commit record
whatever `synchronous_commit` says) is raised into a *watermark* first (Redis with `REDIS_URL`,
else a file on this host), and only then are the tags bumped (core.pagecache._publish). A
request routed here reads the watermark after the page cache read its sequence number, then
asks the replica, on the very connection its reads will use, how far it has replayed
(`pg_last_wal_replay_lsn()`); below the watermark the request reads the primary instead. So a
page kept in the cache was either built after the bump from rows at least as new as the commit
(the watermark was raised before the bump), or its build began before the bump and the cache
refuses to keep it (the sequence moved). Pages not kept (searches) follow the same rule.

Failures choose the primary, never a 500: replica unreachable (left alone for `RETRY_AFTER`
seconds by this process), a query cancelled by the standby (conflict with recovery), the
watermark unreadable; the primary's position unreadable after a commit distrusts the replica
for `DISTRUST_SECONDS` everywhere.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from core.db import READ_FROM, db
from core.redis_link import RedisLink

EXTENSION = "read_replica"
RETRY_AFTER = 30.0  # seconds an unreachable replica is left alone by this process
DISTRUST_SECONDS = 60  # the primary's position after a commit unknown: primary only, everywhere
CONNECT_TIMEOUT = 3  # seconds; a replica that takes longer to answer is treated as down
_REPLAYED = text("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
_PRIMARY_POSITION = text("SELECT pg_current_wal_insert_lsn()::text")


def lsn_to_int(lsn: str) -> int:
    """`16/B374D848` → a comparable integer."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def _store_errors() -> tuple[type[BaseException], ...]:
    try:
        import redis
    except ImportError:  # pragma: no cover - redis is a runtime dependency
        return (OSError, ValueError)
    return (redis.RedisError, OSError, ValueError)


# --------------------------------------------------------------------------- the watermark


class FileWatermark:
    """The position on one host: a file all workers raise under a lock and replace atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.distrust_path = path.with_name(path.name + ".distrust")
        path.parent.mkdir(parents=True, exist_ok=True)

    def _replace(self, path: Path, content: str) -> None:
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text(content)
        os.replace(partial, path)  # readers see the old content or the new, never half

    def raise_to(self, position: int) -> None:
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if position > self._read():
                self._replace(self.path, f"{position:016x}")

    def distrust(self, seconds: float) -> None:
        self._replace(self.distrust_path, repr(time.time() + seconds))

    def _read(self) -> int:
        try:
            return int(self.path.read_text() or "0", 16)
        except FileNotFoundError:
            return 0

    def required(self) -> int | None:
        """The position a replica must have replayed; None: read the primary."""
        try:
            if float(self.distrust_path.read_text()) > time.time():
                return None
        except FileNotFoundError:
            pass
        return self._read()


# Fixed-width hexadecimal compares as the number it spells; Lua's numbers would round past 2**53.
_RAISE_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if not current or current < ARGV[1] then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""


class RedisWatermark(RedisLink):
    """The position shared by every worker and host."""

    def __init__(self, url: str, prefix: str) -> None:
        super().__init__(url)
        self.key, self.distrust_key = f"{prefix}replica:lsn", f"{prefix}replica:distrust"

    def raise_to(self, position: int) -> None:
        self.client.eval(_RAISE_SCRIPT, 1, self.key, f"{position:016x}")

    def distrust(self, seconds: float) -> None:
        self.client.set(self.distrust_key, b"1", ex=max(1, int(seconds)))

    def required(self) -> int | None:
        position, distrusted = self.client.mget([self.key, self.distrust_key])
        if distrusted:
            return None
        return int(position, 16) if position else 0


# --------------------------------------------------------------------------- routing


class Replica:
    """The replica's engine, the watermark and whether this process may use the replica now."""

    def __init__(self, engine: Engine, watermark: FileWatermark | RedisWatermark) -> None:
        self.engine, self.watermark = engine, watermark
        self._down_until = 0.0

    def replayed(self, session: Session) -> tuple[bool, int | None]:
        """(in recovery, replayed position) of the replica behind the session's connection."""
        recovering, lsn = session.execute(_REPLAYED).one()
        return bool(recovering), lsn_to_int(lsn) if lsn else None

    def note_primary_position(self, primary: Engine) -> None:
        """After a commit that changed public pages, before their tags are bumped."""
        try:
            with primary.connect() as connection:
                position = connection.execute(_PRIMARY_POSITION).scalar_one()
            self.watermark.raise_to(lsn_to_int(position))
        except (SQLAlchemyError, *_store_errors()):
            current_app.logger.warning("replica watermark not raised", exc_info=True)
            try:
                self.watermark.distrust(DISTRUST_SECONDS)
            except _store_errors():
                current_app.logger.error("replica watermark unavailable", exc_info=True)

    def route(self, session: Session) -> bool:
        """Send the session's reads to the replica if it has replayed the watermark."""
        if time.monotonic() < self._down_until or session.in_transaction():
            return False
        try:
            required = self.watermark.required()
        except _store_errors():
            current_app.logger.warning("replica watermark unreadable", exc_info=True)
            return False
        if required is None:
            return False
        session.info[READ_FROM] = self.engine
        try:
            recovering, replayed = self.replayed(session)
        except SQLAlchemyError:
            current_app.logger.warning("read replica unavailable", exc_info=True)
            self.leave(session, down=True)
            return False
        if recovering and (replayed is None or replayed < required):
            self.leave(session)  # lagging: this request reads the primary
            return False
        return True  # a replica caught up, or a server no longer in recovery (promoted)

    def leave(self, session: Session, down: bool = False) -> None:
        """Back to the primary for the rest of the request (the replica's transaction ends)."""
        session.info.pop(READ_FROM, None)
        try:
            session.rollback()
        except DBAPIError:
            session.invalidate()
        if down:
            self._down_until = time.monotonic() + RETRY_AFTER


def _anonymous_read() -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    config = current_app.config
    personal = (config["SESSION_COOKIE_NAME"], config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    return not any(name in request.cookies for name in personal)


def replica_reads(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let this public page's reads come from the replica (see above). Under `@cached_page`, so
    the check runs on a cache miss only, after the cache read its sequence number."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        replica: Replica | None = current_app.extensions.get(EXTENSION)
        if replica is None or not _anonymous_read():
            return view(*args, **kwargs)
        session = db.session()
        if not replica.route(session):
            return view(*args, **kwargs)
        try:
            return view(*args, **kwargs)
        except DBAPIError as error:
            # The replica went away or cancelled a query (conflict with recovery): ask the primary.
            current_app.logger.warning("read replica failed; reading the primary", exc_info=True)
            replica.leave(session, down=error.connection_invalidated)
            return view(*args, **kwargs)
        finally:
            session.info.pop(READ_FROM, None)

    return wrapper


def note_write() -> None:
    """Called by the page cache after a commit that changed public pages, before the bump."""
    replica: Replica | None = current_app.extensions.get(EXTENSION)
    if replica is not None:
        replica.note_primary_position(db.engine)


def replica(app: Flask | None = None) -> Replica | None:
    return (app or current_app).extensions.get(EXTENSION)


def init_app(app: Flask) -> None:
    config = app.config
    url = config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    options = {**config["SQLALCHEMY_ENGINE_OPTIONS"]}
    options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    engine = create_engine(url, **options)
    if config["REDIS_URL"]:
        prefix = config.get("PAGE_CACHE_PREFIX") or "choque:"
        watermark: FileWatermark | RedisWatermark = RedisWatermark(config["REDIS_URL"], prefix)
    else:
        path = config.get("REPLICA_WATERMARK_FILE") or Path(app.instance_path) / "replica-lsn"
        watermark = FileWatermark(Path(path))
    app.extensions[EXTENSION] = Replica(engine, watermark)
