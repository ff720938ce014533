"""The whole database as plain rows, to prove that a refused request changed nothing."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db


def database_snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, as strings, in primary-key order (inside an app context)."""
    state = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows = db.session.execute(select(table).order_by(*order)).all()
        state[table.name] = [tuple(map(str, row)) for row in rows]
    return state
