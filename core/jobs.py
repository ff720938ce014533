"""Long jobs. The embedded default runs them in-process; an RQ worker can take over later."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def enqueue(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run now (embedded default). The call site stays the same when a queue is plugged in."""
    return func(*args, **kwargs)
