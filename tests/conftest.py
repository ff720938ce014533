"""Test fixtures: one app and database per test session, emptied after every test.

The suite runs on SQLite by default and on PostgreSQL with `--db=postgresql` (make test runs both).
PostgreSQL tests create and drop a database of their own on TEST_DATABASE_URL's server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from core.db import db
from wsgi import create_app

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=os.environ.get("TEST_DB", "sqlite"),
        choices=("sqlite", "postgresql"),
        help="database backend for this run",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") == "postgresql":
        return
    skip = pytest.mark.skip(reason="PostgreSQL only: run with --db=postgresql (make test does)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


def _admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    backend = request.config.getoption("--db")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    import psycopg

    admin = _admin_url()
    name = f"choque_test_{uuid.uuid4().hex[:10]}"
    plain = admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory):
    media = tmp_path_factory.mktemp("media")
    app = create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MEDIA_ROOT": str(media),
            "WTF_CSRF_ENABLED": False,
            "PUBLIC_BASE_URL": "https://choque.test",
            "SERVER_NAME": None,
        }
    )
    with app.app_context():
        db.create_all()
        from cooperatives.reference import load_ocop_categories

        load_ocop_categories()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        keep = {"ocop_category"}
        tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in keep]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(table.delete())
        from core.security import limiter

        limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An app context for arranging data; close it (or use ids) before making requests."""
    with app.app_context():
        yield


def login(client, user_id: int) -> None:
    """Sign a test client in as the user with this id (Flask-Login session)."""
    with client.application.app_context():
        from accounts.models import User

        user = db.session.get(User, user_id)
        identity = user.get_id()
    with client.session_transaction() as session:
        session["_user_id"] = identity
        session["_fresh"] = True
