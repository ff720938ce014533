"""`flask bench-data`: index the synthetic catalogue for the search benchmark."""

from __future__ import annotations

from core.db import db


def generate(**_options) -> str:
    from shop.search.services import reindex_all

    done = reindex_all()
    db.session.commit()  # bench-data generators commit (a bulk load, not a request)
    return f"{done} products indexed for search"
