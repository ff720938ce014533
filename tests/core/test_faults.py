"""Faults under load, bounded for CI (the long runs: `make bench`, bench/faults.py): no
acknowledged scan or activation lost, nothing half-written, the app recovers by itself."""

from __future__ import annotations

import os

import pytest

from bench import bench_faults as faults


def test_a_worker_killed_under_load_loses_no_acknowledged_write(tmp_path):
    report = faults.kill_workers_under_load(tmp_path, seconds=6, kills=2, workers=3)
    print(report)

    assert report.faults == 2
    assert report.scans_acked > 0 and report.activations_acked > 0 and report.signins_acked > 0
    assert report.scans_lost == 0
    assert report.activations_lost == 0
    assert report.half_written == 0
    assert report.integrity == "ok" and report.chains_ok
    assert report.recovery_s < 60  # the master starts a new worker by itself (boot time)
    # A dropped connection for the requests the killed worker held, or a clear answer: never 500
    assert set(report.refused) <= {"409", "503"}


@pytest.mark.postgres_only
def test_a_database_outage_gives_clear_errors_then_full_service(tmp_path):
    admin = os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    report = faults.database_outage_under_load(tmp_path, admin, seconds=8, outage=2)
    print(report)

    assert report.scans_lost == 0 and report.activations_lost == 0
    assert report.half_written == 0 and report.chains_ok
    assert report.stuck_transactions == 0
    assert report.recovery_s < 60
    assert set(report.refused) <= {"503", "409"}  # while it is down: 503 with Retry-After
    assert report.scans_acked > 0


def test_an_unreachable_database_is_a_clear_503_not_a_500(tmp_path):
    from wsgi import create_app

    gone = create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}",
        }
    )
    client = gone.test_client()

    page = client.get("/p/cam-cao-phong")
    api = client.get("/p/cam-cao-phong", headers={"Accept": "application/json"})
    health = client.get("/healthz")

    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert "Chưa có gì được lưu" in page.get_data(as_text=True)
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    assert health.status_code == 503
