"""A small per-application cache of rendered page fragments, each kept with the version it was
built from: a fragment is reused only while the version read afresh by the request is the same,
so it is never stale (the caller chooses a version that holds everything the fragment shows).

With `REDIS_URL` set, fragments whose caller gives a codec are also kept in Redis, shared by
every worker and host: the Redis key holds the fragment's key, its exact version and the code
release (templates, translations and Python sources hashed once per process), so a worker
reads only what any worker built for the very same data and code — a cold worker (a deploy, a
restart, a SIGKILL) takes it instead of rebuilding it. Per-process memory stays in front. Redis
unreachable: fragments are built here, never an error (and Redis is left alone for a while).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any

from flask import Flask, current_app

from core.redis_link import RedisLink

MAX_ENTRIES = 2048
SHARED_TTL = 24 * 3600  # seconds a fragment stays in Redis unread (its version decides truth)
RETRY_AFTER = 30.0  # seconds Redis is left alone after an error
_RELEASE_SUFFIXES = (".py", ".html", ".mo")
_RELEASE_SKIP = {"tests", "bench", "node_modules", "instance", "migrations", "static"}


@dataclass(frozen=True)
class Codec:
    """How a fragment goes to bytes and back (only fragments with a codec are shared)."""

    dumps: Callable[[Any], bytes]
    loads: Callable[[bytes], Any]


class SharedStore(RedisLink):
    """Fragments in Redis, shared by every worker and host."""

    def __init__(self, url: str, prefix: str, release: Callable[[], str]) -> None:
        super().__init__(url)
        self.prefix = prefix
        self._release = release
        self._down_until = 0.0

    def name(self, cache: str, key: Hashable, version: Hashable) -> str:
        identity = repr((self._release(), key, version)).encode()
        return f"{self.prefix}frag:{cache}:{hashlib.blake2b(identity, digest_size=20).hexdigest()}"

    def get(self, name: str) -> bytes | None:
        if time.monotonic() < self._down_until:
            return None
        try:
            return self.client.get(name)
        except _redis_errors():
            self._down_until = time.monotonic() + RETRY_AFTER
            return None

    def put(self, name: str, blob: bytes) -> None:
        if time.monotonic() < self._down_until:
            return
        try:
            self.client.set(name, blob, ex=SHARED_TTL)
        except _redis_errors():
            self._down_until = time.monotonic() + RETRY_AFTER


def _redis_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.RedisError, OSError)


class FragmentCache:
    """A bounded least-recently-used map key → (version, value); a value is returned only for
    the exact version it was built from. With a shared store, values given a codec are also
    read from and written to it."""

    def __init__(
        self, max_entries: int = MAX_ENTRIES, *, name: str = "", shared: SharedStore | None = None
    ) -> None:
        self.max_entries = max_entries
        self.name = name
        self.shared = shared
        self._entries: dict[Hashable, tuple[Hashable, Any]] = {}
        self._lock = Lock()
        self.hits = 0
        self.misses = 0  # not in this process's memory
        self.shared_hits = 0  # of those with a codec, taken from the shared store
        self.shared_builds = 0  # of those with a codec, built here

    def get_or_build(
        self,
        key: Hashable,
        version: Hashable,
        build: Callable[[], Any],
        *,
        codec: Codec | None = None,
    ) -> Any:
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None and entry[0] == version:
                self._entries[key] = entry  # most recently used goes last
                self.hits += 1
                return entry[1]
        self.misses += 1
        shared = self.shared if codec is not None else None
        name = shared.name(self.name, key, version) if shared is not None else ""
        blob = shared.get(name) if shared is not None else None
        if blob is not None:
            value = codec.loads(blob)  # type: ignore[union-attr]
            self.shared_hits += 1
        else:
            value = build()
            if codec is not None:
                self.shared_builds += 1
            if shared is not None:
                shared.put(name, codec.dumps(value))  # type: ignore[union-attr]
        self._remember(key, version, value)
        return value

    def _remember(self, key: Hashable, version: Hashable, value: Any) -> None:
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (version, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def code_release(root: Path) -> str:
    """A digest of the code that renders fragments (Python sources, templates, compiled
    translations under `root`): a deploy that changes any of them never reads the fragments
    the previous code built."""
    digest = hashlib.blake2b(digest_size=16)
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _RELEASE_SKIP)
        for file in sorted(files):
            if file.endswith(_RELEASE_SUFFIXES):
                path = Path(folder, file)
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _release_of(app: Flask) -> Callable[[], str]:
    computed: list[str] = []
    lock = Lock()

    def release() -> str:
        if not computed:
            with lock:
                if not computed:
                    computed.append(code_release(Path(app.root_path)))
        return computed[0]

    return release


def app_cache(name: str, app: Flask | None = None, max_entries: int = MAX_ENTRIES) -> FragmentCache:
    """The application's cache called `name` (one per app, so tests with fresh databases never
    share one), backed by Redis when `REDIS_URL` is set."""
    app = app or current_app
    cache = app.extensions.get(name)
    if cache is None:
        shared = None
        url = app.config.get("REDIS_URL")
        if url:
            prefix = app.config.get("PAGE_CACHE_PREFIX") or "choque:"
            shared = SharedStore(url, prefix, _release_of(app))
        cache = app.extensions.setdefault(
            name, FragmentCache(max_entries, name=name, shared=shared)
        )
    return cache
