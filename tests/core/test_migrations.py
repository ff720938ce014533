"""The Alembic revisions build exactly the schema the models describe."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import func, select

from core.db import alembic_compare_type, alembic_include_object, db
from wsgi import create_app


@pytest.fixture
def empty_database_url(request, tmp_path):
    if request.config.getoption("--db") == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    import psycopg

    from tests.conftest import _admin_url

    admin = _admin_url().replace("postgresql+psycopg://", "postgresql://")
    name = f"choque_migr_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{_admin_url().rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrations_build_the_schema_the_models_describe(empty_database_url, tmp_path):
    app = create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "x" * 40,
            "SQLALCHEMY_DATABASE_URI": empty_database_url,
            "MEDIA_ROOT": str(tmp_path / "media"),
        }
    )
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": alembic_compare_type,
                    "include_object": alembic_include_object,
                },
            )
            differences = compare_metadata(context, db.metadata)
        assert differences == []

        from cooperatives.models import OcopCategory
        from cooperatives.reference import OCOP_CATEGORIES

        count = db.session.scalar(select(func.count()).select_from(OcopCategory))
        assert count == len(OCOP_CATEGORIES)
        db.session.remove()
        db.engine.dispose()
