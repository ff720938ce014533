"""Rate-limit storage in a SQLite file: the embedded default, shared by every gunicorn worker.

Why a file and not memory or Redis: `make run` serves several worker processes on one machine,
each with its own memory, so in-memory limits multiply by the worker count. Redis shares them
(and is used whenever `REDIS_URL` is set), but the embedded default must work on a fresh machine
with nothing but Python. SQLite ships with Python; one WAL-mode file in `instance/` is shared by
every process on the host, and `BEGIN IMMEDIATE` makes "count the window, then add the hit" one
atomic step across processes, so a limit of 10 admits exactly 10 whatever the worker count.
It costs one small local transaction per limited request (well under a millisecond). It is not
shared between hosts: with several hosts, set `REDIS_URL`.

URI: `sqlite:///absolute/path/to/ratelimits.sqlite` (the scheme registers itself with `limits`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from limits.storage import MovingWindowSupport, Storage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hit (key TEXT NOT NULL, at REAL NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS ix_hit_key_at ON hit (key, at);
CREATE INDEX IF NOT EXISTS ix_hit_expires ON hit (expires);
CREATE TABLE IF NOT EXISTS counter (key TEXT PRIMARY KEY, value INTEGER NOT NULL,
                                    expires REAL NOT NULL);
"""
_PURGE_EVERY = 200  # writes between purges of expired rows


class SQLiteFileStorage(Storage, MovingWindowSupport):
    """Fixed-window counters and moving windows in one SQLite file, safe across processes."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        path = urlsplit(uri).path
        if uri.startswith("sqlite:////"):
            path = "/" + path.lstrip("/")
        elif uri.startswith("sqlite:///"):
            path = path[1:]
        if not path:
            raise ValueError("sqlite rate-limit storage needs a file path: sqlite:///path")
        self.path = path
        self._lock = threading.Lock()
        self._pid = -1
        self._connection: sqlite3.Connection | None = None
        self._writes = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        # A connection never crosses a fork: gunicorn workers each open their own.
        if self._connection is None or self._pid != os.getpid():
            directory = os.path.dirname(self.path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(_SCHEMA)
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def _write(self, fn: Any) -> Any:
        """Run fn(connection, now) inside one immediate (write-locked) transaction."""
        with self._lock:
            connection = self._conn()
            connection.execute("BEGIN IMMEDIATE")
            try:
                now = time.time()
                result = fn(connection, now)
                self._writes += 1
                if self._writes % _PURGE_EVERY == 0:
                    connection.execute("DELETE FROM hit WHERE expires <= ?", (now,))
                    connection.execute("DELETE FROM counter WHERE expires <= ?", (now,))
                connection.execute("COMMIT")
                return result
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._conn().execute(sql, params).fetchone()

    # --- fixed window ----------------------------------------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        def step(connection: sqlite3.Connection, now: float) -> int:
            connection.execute("DELETE FROM counter WHERE key = ? AND expires <= ?", (key, now))
            connection.execute(
                "INSERT INTO counter (key, value, expires) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                (key, amount, now + expiry),
            )
            return connection.execute("SELECT value FROM counter WHERE key = ?", (key,)).fetchone()[
                0
            ]

        return int(self._write(step))

    def get(self, key: str) -> int:
        row = self._read(
            "SELECT value FROM counter WHERE key = ? AND expires > ?", (key, time.time())
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._read(
            "SELECT expires FROM counter WHERE key = ? AND expires > ?", (key, time.time())
        )
        return float(row[0]) if row else time.time()

    def clear(self, key: str) -> None:
        def step(connection: sqlite3.Connection, now: float) -> None:
            connection.execute("DELETE FROM counter WHERE key = ?", (key,))
            connection.execute("DELETE FROM hit WHERE key = ?", (key,))

        self._write(step)

    def check(self) -> bool:
        try:
            self._read("SELECT 1", ())
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        def step(connection: sqlite3.Connection, now: float) -> int:
            count = connection.execute("SELECT count(*) FROM counter").fetchone()[0]
            count += connection.execute("SELECT count(DISTINCT key) FROM hit").fetchone()[0]
            connection.execute("DELETE FROM counter")
            connection.execute("DELETE FROM hit")
            return int(count)

        return self._write(step)

    # --- moving window (the strategy the app uses) ------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False

        def step(connection: sqlite3.Connection, now: float) -> bool:
            taken = connection.execute(
                "SELECT count(*) FROM hit WHERE key = ? AND at > ?", (key, now - expiry)
            ).fetchone()[0]
            if taken + amount > limit:
                return False
            connection.executemany(
                "INSERT INTO hit (key, at, expires) VALUES (?, ?, ?)",
                [(key, now, now + expiry)] * amount,
            )
            return True

        return bool(self._write(step))

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        row = self._read(
            "SELECT min(at), count(*) FROM hit WHERE key = ? AND at > ?", (key, now - expiry)
        )
        if not row or not row[1]:
            return now, 0
        return float(row[0]), int(row[1])
