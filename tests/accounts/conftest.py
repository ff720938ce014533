"""Fixtures for the accounts tests: extra app instances on the same test database."""

from __future__ import annotations

import pytest

from core.db import db
from wsgi import create_app


@pytest.fixture
def build_app(app, database_url, tmp_path):
    """Build another app (CSRF on, production mode…) on the session's test database.

    Depends on `app` so the schema exists and the database is emptied after the test."""
    built = []

    def build(**overrides):
        config = {
            "APP_ENV": "testing",
            "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MEDIA_ROOT": str(tmp_path / "media"),
            "WTF_CSRF_ENABLED": False,
            "PUBLIC_BASE_URL": "https://choque.test",
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_ENABLED": True,
        }
        if overrides.get("APP_ENV") == "production":  # production refuses per-process limits
            config["RATELIMIT_STORAGE_URI"] = f"sqlite:///{tmp_path / 'limits.sqlite'}"
        config.update(overrides)
        new_app = create_app(config)
        built.append(new_app)
        return new_app

    yield build
    for new_app in built:
        with new_app.app_context():
            db.session.remove()
            db.engine.dispose()
