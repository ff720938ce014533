"""A small per-application cache of rendered page fragments, each kept with the version it was
built from: a fragment is reused only while the version read afresh by the request is the same,
so it is never stale (the caller chooses a version that holds everything the fragment shows)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from threading import Lock
from typing import Any

from flask import Flask, current_app

MAX_ENTRIES = 2048


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


def app_cache(name: str, app: Flask | None = None, max_entries: int = MAX_ENTRIES) -> FragmentCache:
    """The application's cache called `name` (one per app, so tests with fresh databases never
    share one)."""
    app = app or current_app
    cache = app.extensions.get(name)
    if cache is None:
        cache = app.extensions.setdefault(name, FragmentCache(max_entries))
    return cache
