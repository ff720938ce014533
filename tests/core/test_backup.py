"""`flask backup` under load restores to a database whose event chains and constraints hold.

Runs on the session's backend: SQLite (online backup API) or PostgreSQL (pg_dump/pg_restore)."""

from __future__ import annotations

import threading
import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from core.db import db, unit_of_work
from tests.factories import make_batch, make_producer, make_product
from traceability.lots import record_event
from traceability.models import TraceEvent
from wsgi import create_app


def _lots(app, n=3) -> list[int]:
    with app.app_context():
        producer = make_producer()
        ids = []
        for i in range(n):
            batch = make_batch(
                make_product(producer), f"CP-2026-{i:02d}", produced_on=date(2026, 11, 10)
            )
            record_event(batch.id, "packing", details={"packaging": "thùng 10 kg"})
            ids.append(batch.id)
        db.session.commit()
        return ids


def _events(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(TraceEvent.id)))


def _writer(app, batch_ids, stop: threading.Event, written: list[int]) -> None:
    """Append shipping events to the lots until told to stop (at most 300)."""
    with app.app_context():
        for n in range(300):
            if stop.is_set():
                break
            with unit_of_work():
                record_event(
                    batch_ids[n % len(batch_ids)], "shipping", details={"destination": "HN"}
                )
            written.append(n)
        db.session.remove()


@pytest.fixture
def restore_target(app, database_url, tmp_path, request):
    """A second, empty database of the same backend to restore into; dropped afterwards."""
    backend = request.config.getoption("--db")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    import psycopg

    plain = database_url.replace("postgresql+psycopg://", "postgresql://")
    admin = plain.rsplit("/", 1)[0] + "/postgres"
    name = f"choque_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield database_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_taken_under_load_restores_to_verified_chains(
    app, runner, tmp_path, restore_target
):
    batch_ids = _lots(app)
    stop, written = threading.Event(), []
    writer = threading.Thread(target=_writer, args=(app, batch_ids, stop, written))
    before = _events(app)
    writer.start()
    try:
        while len(written) < 5 and writer.is_alive():  # the backup starts mid-load
            threading.Event().wait(0.02)
        target = tmp_path / "choque-backup.bin"
        result = runner.invoke(args=["backup", str(target)])
    finally:
        stop.set()
        writer.join(60)
    after = _events(app)
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output

    restored = create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
            "SQLALCHEMY_DATABASE_URI": restore_target,
            "WTF_CSRF_ENABLED": False,
        }
    )
    restored_cli = restored.test_cli_runner()
    done = restored_cli.invoke(args=["restore", str(target), "--yes"])
    assert done.exit_code == 0, done.output
    verified = restored_cli.invoke(args=["trace", "verify"])

    assert verified.exit_code == 0, verified.output
    assert f"{len(batch_ids)} batches checked, 0 broken" in verified.output
    count = _events(restored)
    assert before <= count <= after  # one consistent moment of the load, nothing half-written
    with restored.app_context():
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(app, runner, tmp_path):
    bogus = tmp_path / "not-a-backup.sqlite"
    bogus.write_bytes(b"hello")
    before = _events(app)

    result = runner.invoke(args=["restore", str(bogus), "--yes"])

    assert result.exit_code != 0
    assert "not a" in result.output
    assert _events(app) == before
