"""Fixtures for the partner tests: a partner with a key, producers that opted in."""

from __future__ import annotations

import pytest

from core.db import db
from partners import services
from tests.accounts.conftest import build_app  # noqa: F401  (an app with rate limits on)


@pytest.fixture
def partner(app):
    """(partner id, plain key) for a partner with feeds:read and orders:write."""
    with app.app_context():
        partner, _key, plain = services.create_partner("Postmart", "feeds:read,orders:write")
        db.session.commit()
        return partner.id, plain


def bearer(plain: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plain}"}


def opt_in(producer_id: int, *partner_ids: int) -> None:
    services.set_opt_ins(producer_id, set(partner_ids))
