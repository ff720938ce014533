"""Batches (lots), trace events (EPCIS), stamps, scans, recalls, GS1 Digital Link resolver."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from traceability import models  # noqa: F401  (tables known to migrations)
