"""Every web benchmark starts its servers with production settings; the production config must
accept them (`bench_catalog_pages` once set `RATELIMIT_STORAGE_URI=memory://`, which production
refuses, and `make bench` stopped at its first command with no test failing)."""

from __future__ import annotations

import os

import pytest

from bench import bench_catalog_pages, bench_scan_page, bench_two_hosts
from bench.harness import Database, app_env
from core.config import load_config


def _catalog(env: dict[str, str]) -> None:
    bench_catalog_pages.page_cache_env(env)


def _scan(env: dict[str, str]) -> None:
    bench_scan_page.shared_lot_parts(env)


def _two_hosts_limited(env: dict[str, str]) -> None:
    env.update(bench_two_hosts.shared_env(env, limits=True))


def _two_hosts_open(env: dict[str, str]) -> None:
    env.update(bench_two_hosts.shared_env(env, limits=False))


@pytest.mark.parametrize("settings", [_catalog, _scan, _two_hosts_limited, _two_hosts_open])
def test_the_benchmarks_server_settings_pass_the_production_config(settings, tmp_path, monkeypatch):
    env = app_env(Database("sqlite", f"sqlite:///{tmp_path}/bench.db"), str(tmp_path))
    settings(env)
    for name, value in env.items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    config = load_config(tmp_path)  # raises ConfigError on a setting production refuses
    assert config["APP_ENV"] == "production"
