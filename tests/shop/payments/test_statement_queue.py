"""A long bank statement is imported by the background task, not in the web request (a month
of a busy account would outlive the request's timeout): the page says it is importing and
refreshes itself, the task applies every line once, a failed import stays queued, and two
runners never import the same statement twice."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from sqlalchemy import func, select

from core.db import db, unit_of_work
from shop.payments import reconciliation_statements as statements
from shop.payments.models import LedgerEntry, PaymentStatus
from shop.payments.reconciliation_models import BankTransfer, StatementUpload
from shop.payments.services import payments_of
from shop.payments.verify import first_disagreement
from tests.conftest import login
from tests.live import flask, server_env
from tests.shop.payments.test_reconciliation import (
    MAPPING,
    _rows,
    _statement,
    _upload,
    _upload_id,
    _world,
)


@pytest.fixture(autouse=True)
def _short_inline_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "STATEMENT_INLINE_LINES", 3)  # the statement has 6 lines


def _queued(app, client, w) -> int:
    login(client, w["manager_a"])
    upload_id = _upload_id(_upload(client, w["a"], _statement(_rows(w))))
    response = client.post(
        f"/manage/{w['a']}/transfers/statement", data={"upload": upload_id, **MAPPING}
    )
    assert response.status_code == 303
    return upload_id


def test_a_long_statement_is_queued_then_imported_by_the_task(app, client):
    w = _world(app)
    upload_id = _queued(app, client, w)
    page = client.get(f"/manage/{w['a']}/transfers/statement?upload={upload_id}")
    html = page.get_data(as_text=True)
    assert "Đang nhập sao kê (6 dòng)" in html and 'http-equiv="refresh"' in html
    with app.app_context():
        assert payments_of(w["paid"][0])[0].status == PaymentStatus.PENDING  # not yet
        assert db.session.scalar(select(func.count(BankTransfer.id))) == 0

    result = app.test_cli_runner().invoke(args=["payments", "import-statements"])
    assert result.exit_code == 0, result.output

    html = client.get(f"/manage/{w['a']}/transfers/statement?upload={upload_id}").get_data(
        as_text=True
    )
    assert "Đơn đã thanh toán: 1" in html and 'http-equiv="refresh"' not in html
    assert "Dòng 8: Ngày không hợp lệ." in html
    with app.app_context():
        assert payments_of(w["paid"][0])[0].status == PaymentStatus.PAID
        assert db.session.scalar(select(func.count(BankTransfer.id))) == 3
        entries = db.session.scalar(select(func.count(LedgerEntry.id)))
        assert first_disagreement() is None
    # Nothing is left queued: a second run imports nothing again.
    app.test_cli_runner().invoke(args=["payments", "import-statements"])
    with app.app_context():
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == entries


def test_an_import_that_fails_leaves_the_statement_queued_and_nothing_applied(
    app, client, monkeypatch
):
    w = _world(app)
    upload_id = _queued(app, client, w)
    real_receive = statements.receive
    calls = []

    def dies_on_the_second_line(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker lost its database connection")
        return real_receive(*args, **kwargs)

    monkeypatch.setattr(statements, "receive", dies_on_the_second_line)
    with app.app_context(), pytest.raises(RuntimeError):
        statements.import_queued()
    with app.app_context():
        assert db.session.get(StatementUpload, upload_id).status == "queued"
        assert db.session.scalar(select(func.count(BankTransfer.id))) == 0
        assert payments_of(w["paid"][0])[0].status == PaymentStatus.PENDING
    monkeypatch.setattr(statements, "receive", real_receive)
    with app.app_context():
        statements.import_queued()
        assert db.session.get(StatementUpload, upload_id).status == "imported"
        assert payments_of(w["paid"][0])[0].status == PaymentStatus.PAID


@pytest.mark.postgres_only
def test_two_runners_at_once_import_each_statement_once(app, client):
    w = _world(app)
    first = _queued(app, client, w)
    # A second, different upload of the same statement (the platform's own).
    second = _queued(app, client, w)
    outcomes, errors = [], []
    barrier = threading.Barrier(2)

    def runner():
        try:
            with app.app_context():
                barrier.wait()
                with unit_of_work():
                    done = statements.import_next_queued()
                    outcomes.append(done.id if done else None)
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(outcomes) == sorted([first, second])  # each taken by one runner
    with app.app_context():
        assert payments_of(w["paid"][0])[0].status == PaymentStatus.PAID
        assert db.session.scalar(select(func.count(BankTransfer.id))) == 3  # once each
        assert first_disagreement() is None


def _redis_or_skip() -> str:
    url = "redis://127.0.0.1:6379/0"
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip("Redis at 127.0.0.1:6379 is not running")
    return url


def test_with_redis_the_statement_goes_to_an_rq_worker_process(
    app, client, monkeypatch, database_url, tmp_path
):
    """REDIS_URL set: the commit enqueues an RQ job, and a separate `flask worker` process (as
    on another host) imports the statement."""
    from redis import Redis
    from rq import Queue

    redis_url = _redis_or_skip()
    queue_name = f"choque-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app.config, "JOBS_QUEUE", queue_name)
    w = _world(app)
    upload_id = _queued(app, client, w)
    queue = Queue(queue_name, connection=Redis.from_url(redis_url))
    try:
        assert queue.count == 1
        env = server_env(
            tmp_path, DATABASE_URL=database_url, REDIS_URL=redis_url, JOBS_QUEUE=queue_name
        )
        flask(env, "worker", "--burst", timeout=120)
        with app.app_context():
            assert db.session.get(StatementUpload, upload_id).status == "imported"
            assert payments_of(w["paid"][0])[0].status == PaymentStatus.PAID
            assert first_disagreement() is None
        assert queue.count == 0
    finally:
        queue.delete(delete_jobs=True)
