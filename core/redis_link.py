"""A Redis client per process: gunicorn forks its workers after the app is built, and a socket
shared across a fork mixes two processes' answers."""

from __future__ import annotations

import os
from typing import Any


class RedisLink:
    """`.client` is this process's own connection to `url` (made on first use, again after a
    fork). Short timeouts: a cache that waits longer than the work it saves is no cache."""

    def __init__(self, url: str, socket_timeout: float = 0.5) -> None:
        self.url, self.socket_timeout = url, socket_timeout
        self._client: Any = None
        self._pid = 0

    @property
    def client(self) -> Any:
        if self._client is None or self._pid != os.getpid():
            import redis

            self._client = redis.Redis.from_url(self.url, socket_timeout=self.socket_timeout)
            self._pid = os.getpid()
        return self._client
