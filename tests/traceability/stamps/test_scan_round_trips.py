"""PostgreSQL without a ping before every checkout: a scan is one statement in autocommit, and
a connection the server cut (restart, idle timeout) costs neither a 500 nor a lost scan."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from core.db import db
from tests.traceability.stamps.test_scan import _activated
from traceability.models import Scan, Stamp

pytestmark = pytest.mark.postgres_only


def _cut_every_connection(app) -> None:
    """What a PostgreSQL restart does to the app's pooled connections."""
    import psycopg

    with app.app_context():
        url = db.engine.url
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (url.database,),
        )


def _counted(app, code: str) -> tuple[int, int]:
    with app.app_context():
        stamp = db.session.scalar(select(Stamp).where(Stamp.code == code))
        rows = db.session.scalar(
            select(func.count()).select_from(Scan).where(Scan.stamp_id == stamp.id)
        )
        return stamp.scan_count, rows


def test_no_ping_before_checkout(app):
    with app.app_context():
        assert db.engine.pool._pre_ping is False


def test_a_scan_after_the_server_cut_every_connection_is_answered_and_counted(app, client):
    farm = _activated(app)
    code = farm.codes[1]
    assert client.get(f"/s/{code}").status_code == 200
    _cut_every_connection(app)
    response = client.get(f"/s/{code}")
    assert response.status_code == 200
    assert _counted(app, code) == (2, 2)


def test_a_page_read_through_the_session_survives_a_cut_connection(app, client):
    farm = _activated(app)
    assert client.get("/healthz").status_code == 200
    _cut_every_connection(app)
    assert client.get("/healthz").json == {"status": "ok", "database": "ok"}
    with app.app_context():
        slug = db.session.scalar(
            select(Stamp).where(Stamp.code == farm.codes[1])
        ).batch.product.slug
    _cut_every_connection(app)
    assert client.get(f"/p/{slug}").status_code == 200


def test_a_scan_is_one_statement_in_autocommit(app, client):
    farm = _activated(app)
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def trace(conn, cursor, statement, *_args):
        seen.append(statement)

    from sqlalchemy import event

    client.get(f"/s/{farm.codes[1]}")  # the lot's part is built once (ORM reads)
    event.listen(engine, "before_cursor_execute", trace)
    try:
        with app.app_context():
            before = db.session.execute(text("SELECT count(*) FROM scan")).scalar()
        seen.clear()
        assert client.get(f"/s/{farm.codes[1]}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", trace)
    assert seen == []  # no session statement at all: the raw statement is the only one
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM scan")).scalar() == before + 1
