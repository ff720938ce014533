"""The one-statement scan on PostgreSQL (traceability/stamps/scan_counting.py): a counted scan
is ONE statement in autocommit — no BEGIN, no COMMIT, no session — whose count and row always
agree, under concurrent scans too; unknown, void and recalled stamps say what they said before;
`SCAN_ASYNC_COMMIT` changes nothing but the commit's wait, for that statement only."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, text, update

from core.db import db, unit_of_work
from core.i18n import local_today
from tests.traceability.stamps.test_stamps_support import make_farm, scan_at_once
from traceability import stamps
from traceability.lots.recalls import recall_batch
from traceability.models import Scan, Stamp
from traceability.stamps import scan_counting
from traceability.stamps.reading import ScanContext, read_stamp

pytestmark = pytest.mark.postgres_only

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile"}


def _farm(app, *, recalled: bool = False):
    """Serials 1–5 active, 6 void, 7–10 never activated."""
    with app.app_context():
        farm = make_farm(10)
        stamps.activate_range(farm.producer_id, 1, 6, farm.batch_id)
        stamps.void_range(farm.producer_id, 6, 6, "Tem bị rách khi in")
        if recalled:
            recall_batch(farm.batch_id, reason="Nấm mốc", actor_id=None, actor_role="")
        db.session.commit()
    return farm


def _counts(app, code: str) -> tuple[int, int]:
    with app.app_context():
        stamp = db.session.scalar(select(Stamp).where(Stamp.code == code))
        rows = db.session.scalar(
            select(func.count()).select_from(Scan).where(Scan.stamp_id == stamp.id)
        )
        return stamp.scan_count, rows


def test_a_warm_scan_is_one_statement_in_autocommit_and_no_session(app, client):
    farm = _farm(app)
    client.get(f"/s/{farm.codes[1]}", headers=PHONE)  # the lot's part is cached
    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, object]] = []
    begun: list[object] = []

    def after(conn, cursor, statement, parameters, context, executemany):
        status = conn.connection.dbapi_connection.info.transaction_status
        seen.append((" ".join(statement.split()[:2]), status.name))

    def begin(conn):  # SQLAlchemy's own begin, sent to PostgreSQL unless in autocommit
        begun.append(conn.get_execution_options().get("isolation_level"))

    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "begin", begin)
    try:
        response = client.get(f"/s/{farm.codes[2]}", headers=PHONE)
    finally:
        event.remove(engine, "after_cursor_execute", after)
        event.remove(engine, "begin", begin)
    assert response.status_code == 200
    assert "Đã quét 1 lần" in response.get_data(as_text=True)
    # one statement, and no transaction left open after it: PostgreSQL committed it at its end
    assert seen == [("WITH counted", "IDLE")], seen
    assert begun == ["AUTOCOMMIT"]  # the session never began a transaction
    assert _counts(app, farm.codes[2]) == (1, 1)


def test_json_ld_reads_are_one_select_and_count_nothing(app, client):
    farm = _farm(app)
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def after(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.split()[0])

    event.listen(engine, "after_cursor_execute", after)
    try:
        response = client.get(f"/s/{farm.codes[1]}", headers={"Accept": "application/ld+json"})
    finally:
        event.remove(engine, "after_cursor_execute", after)
    assert response.status_code == 200 and response.json["@type"]
    assert seen[0] == "SELECT"  # the facts, in autocommit (the lot's summary follows)
    assert _counts(app, farm.codes[1]) == (0, 0)


@pytest.mark.parametrize("async_commit", [False, True])
def test_concurrent_scans_of_several_stamps_keep_counts_and_rows_equal(app, async_commit):
    farm = _farm(app)
    codes = [farm.codes[n] for n in (1, 2, 6, 7)]  # active, active, void, never activated
    app.config["SCAN_ASYNC_COMMIT"] = async_commit
    try:
        scan_at_once(app, codes, threads=6, each=12, headers=PHONE)
    finally:
        app.config["SCAN_ASYNC_COMMIT"] = False
    totals = [_counts(app, code) for code in codes]
    assert all(count == rows for count, rows in totals), totals
    assert sum(count for count, _ in totals) == 6 * 12


def test_the_async_commit_setting_does_not_outlive_its_statement(app, client):
    farm = _farm(app)
    app.config["SCAN_ASYNC_COMMIT"] = True
    try:
        assert client.get(f"/s/{farm.codes[1]}", headers=PHONE).status_code == 200
        with app.app_context():  # the same pool, most likely the very connection it used
            with scan_counting._autocommit_engine().connect() as connection:
                setting = connection.exec_driver_sql("SHOW synchronous_commit").scalar()
            assert db.session.scalar(text("SHOW synchronous_commit")) == "on"
    finally:
        app.config["SCAN_ASYNC_COMMIT"] = False
    assert setting == "on"
    assert _counts(app, farm.codes[1]) == (1, 1)


def test_unknown_void_new_and_recalled_stamps_say_what_they_said(app, client):
    farm = _farm(app, recalled=True)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Scan))
    unknown = client.get("/s/ZZZZZZZZZZZZZ", headers=PHONE)
    assert unknown.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Scan)) == before
    recalled = client.get(f"/s/{farm.codes[1]}", headers=PHONE).get_data(as_text=True)
    assert "Tem thật, nhưng lô hàng này đã bị thu hồi" in recalled and "Nấm mốc" in recalled
    void = client.get(f"/s/{farm.codes[6]}", headers=PHONE).get_data(as_text=True)
    new = client.get(f"/s/{farm.codes[7]}", headers=PHONE).get_data(as_text=True)
    assert "Tem đã bị hủy" in void and "Cam Cao Phong loại 1" not in void
    assert "Tem chưa được kích hoạt" in new and "Cam Cao Phong loại 1" not in new
    for serial in (1, 6, 7):  # every one counted once, with its row
        assert _counts(app, farm.codes[serial]) == (1, 1)
    with app.app_context():
        assert (
            scan_counting.count_scan(
                today=local_today(),
                now=db.session.scalar(select(func.now())),
                network="",
                client="",
                via="code",
                code="ZZZZZZZZZZZZZ",
            )
            is None
        )


def test_a_caller_inside_its_own_transaction_counts_in_it_without_waiting_on_itself(app):
    farm = _farm(app)
    with app.app_context():
        stamp_id = db.session.scalar(select(Stamp.id).where(Stamp.code == farm.codes[2]))
        with unit_of_work():  # the session holds the stamp's row lock when the scan comes
            db.session.execute(update(Stamp).where(Stamp.id == stamp_id).values(scan_count=10))
            assert not scan_counting.applies()
            reading = read_stamp(
                today=local_today(),
                via="code",
                stamp_id=stamp_id,
                scan=ScanContext("203.0.113.0/24", "Chrome"),
            )
        assert reading.tally.count == 11
    assert _counts(app, farm.codes[2]) == (11, 1)


def test_a_scan_after_the_servers_connections_were_cut_is_answered_and_counted_once(app):
    farm = _farm(app)
    client = app.test_client()
    assert client.get(f"/s/{farm.codes[3]}", headers=PHONE).status_code == 200
    with app.app_context():
        name = db.session.scalar(text("SELECT current_database()"))
        db.session.remove()
    import psycopg

    admin = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:  # every pooled connection is killed
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
    response = client.get(f"/s/{farm.codes[3]}", headers=PHONE)
    assert response.status_code == 200
    assert "Đã quét 2 lần" in response.get_data(as_text=True)
    assert _counts(app, farm.codes[3]) == (2, 2)
