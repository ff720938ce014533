"""Statistics pages at benchmark scale, against the trivial route in the same gunicorn run.

Data: `flask bench-data` (1,000 producers, 100,000 products, their OCOP certificates) with
1,000,000 stamps, plus 1,000,000 scans spread over 120 days (inserted in SQL here: bench-data
makes stamps, not scans) and some stamps past the copy-warning threshold; then
`flask stats refresh --full` (timed: it is the scheduled job the traceability and posting
figures come from).

Load: a small bounded generator (threads with keep-alive connections, loopback only) that sends
the signed-in session cookie the harness's load tools cannot; each page run is bracketed by runs
of the trivial route and reported as p50/p95/p99 and throughput ratios.

    python -m bench.bench_statistics_pages   (BENCH_DATABASES=postgresql by default;
                                              BENCH_STAMPS, BENCH_SCANS, BENCH_STATS_SECONDS,
                                              BENCH_STATS_CONNECTIONS to change)
"""

from __future__ import annotations

import http.client
import os
import statistics as stats
import tempfile
import threading
import time
from typing import Any

from flask import Flask

from bench.app import TRIVIAL_PATH
from bench.harness import (
    Database,
    app_env,
    build_schema,
    database,
    database_version,
    env_int,
    flask,
    gunicorn,
    log,
    machine,
    postgres_reachable,
    sql_scalar,
    workers,
    write_results,
)

NAME = "statistics_pages"
BASELINE = f"GET {TRIVIAL_PATH} (trivial Flask route) in the same gunicorn run"
PRODUCERS = env_int("BENCH_PRODUCERS", 1_000)
PRODUCTS = env_int("BENCH_PRODUCTS", 100_000)
STAMPS = env_int("BENCH_STAMPS", 1_000_000)
SCANS = env_int("BENCH_SCANS", 1_000_000)
SECONDS = min(env_int("BENCH_STATS_SECONDS", 6), 30)
CONNECTIONS = min(env_int("BENCH_STATS_CONNECTIONS", 4), 16)
SIGN_IN = "/_bench/sign-in/"
PAGES = {
    "public_stats": "/stats",
    "public_stats_5_stars_province": "/stats?map=5&province=25",
    "public_stats_csv": "/stats.csv",
    "ocop": "/statistics/ocop",
    "ocop_province_5_stars": "/statistics/ocop?province=25&map=5",
    "ocop_all_time": "/statistics/ocop?period=all",
    "ocop_csv": "/statistics/ocop.csv",
    "ocop_xlsx": "/statistics/ocop.xlsx",
    "traceability": "/statistics/traceability",
    "traceability_90d_province": "/statistics/traceability?period=90d&province=25",
    "participation": "/statistics/participation",
    "participation_all_time": "/statistics/participation?period=all",
}


def create_bench_app() -> Flask:
    """The real app, the trivial route, and a sign-in shortcut that exists only here."""
    from flask_login import login_user

    from accounts.models import User
    from bench.app import create_bench_app as base_app
    from core.db import db

    app = base_app()
    # "uncached" runs count every request from the database; "cached" ones use the app's
    # one-minute memory of each question (the default in production).
    seconds = os.environ.get("BENCH_STATS_CACHE_SECONDS", "")
    if seconds:
        app.config["STATS_CACHE_SECONDS"] = int(seconds)

    @app.get(f"{SIGN_IN}<int:user_id>")
    def bench_sign_in(user_id: int):
        login_user(db.session.get(User, user_id))
        return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}

    return app


def _scans_and_admin(db: Database) -> int:
    """1,000,000 scans over the last 120 days, copy warnings, and an admin; returns its id."""
    import psycopg

    url = db.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO scan (stamp_id, scanned_at, network, client, via) "
            "SELECT s.id, now() - random() * interval '120 days', '198.51.100.0/24', 'chrome', "
            "'code' FROM stamp s CROSS JOIN generate_series(1, 2) WHERE s.state = 'active' "
            f"LIMIT {SCANS}"
        )
        conn.execute("UPDATE stamp SET scan_count = 30 WHERE state = 'active' AND id % 997 = 0")
        conn.execute("ANALYZE")
        row = conn.execute(
            'INSERT INTO "user" (phone, name, locale, is_platform_admin, active, created_at, '
            "session_version) VALUES ('+84900000999', 'Bench admin', 'vi', true, true, now(), 1) "
            "RETURNING id"
        ).fetchone()
        return int(row[0])


def _cookie(base: str, user_id: int) -> str:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", f"{SIGN_IN}{user_id}")
    response = conn.getresponse()
    response.read()
    cookie = response.getheader("Set-Cookie") or ""
    conn.close()
    return cookie.split(";", 1)[0]


def _measure(base: str, path: str, cookie: str, seconds: int = SECONDS) -> dict[str, Any]:
    if not base.startswith("http://127.0.0.1:"):
        raise ValueError("load is generated against loopback only")
    host, port = base.removeprefix("http://").split(":")
    latencies: list[list[float]] = [[] for _ in range(CONNECTIONS)]
    statuses: list[dict[str, int]] = [{"ok": 0, "other": 0} for _ in range(CONNECTIONS)]
    start = time.perf_counter()
    deadline = start + seconds
    headers = {"Cookie": cookie} if cookie else {}

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                statuses[index]["other"] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                continue
            latencies[index].append(time.perf_counter() - began)
            statuses[index]["ok" if 200 <= response.status < 300 else "other"] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    every = sorted(x for mine in latencies for x in mine)

    def pct(p: float) -> float:
        return round(every[min(len(every) - 1, int(p / 100 * len(every)))] * 1000, 2)

    return {
        "path": path,
        "requests": len(every),
        "rps": round(len(every) / elapsed, 1),
        "p50_ms": pct(50) if every else None,
        "p95_ms": pct(95) if every else None,
        "p99_ms": pct(99) if every else None,
        "ok_2xx": sum(s["ok"] for s in statuses),
        "non_2xx": sum(s["other"] for s in statuses),
    }


def _pages(base: str, admin_id: int, warm_up: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cookie = _cookie(base, admin_id)
    for path in [TRIVIAL_PATH, *PAGES.values()]:
        _measure(base, path, cookie, seconds=warm_up)
    trivial = [_measure(base, TRIVIAL_PATH, "")]
    log(f"  trivial: {trivial[-1]}")
    for key, path in PAGES.items():
        figures = _measure(base, path, "" if path.startswith("/stats") else cookie)
        trivial.append(_measure(base, TRIVIAL_PATH, ""))
        around = trivial[-2:]
        figures["ratio_rps"] = round(figures["rps"] / (sum(t["rps"] for t in around) / 2), 3)
        figures["ratio_p95"] = round(figures["p95_ms"] / (sum(t["p95_ms"] for t in around) / 2), 1)
        out[key] = figures
        log(
            f"  {path:<48} {figures['rps']:>7.1f} req/s  p50 {figures['p50_ms']:>7.1f} ms"
            f"  p95 {figures['p95_ms']:>7.1f} ms  {figures['ratio_rps']:.3f}× trivial"
            f"  non-2xx {figures['non_2xx']}"
        )
    out["trivial"] = trivial
    out["trivial_rps_median"] = stats.median(t["rps"] for t in trivial)
    out["trivial_p95_ms_median"] = stats.median(t["p95_ms"] for t in trivial)
    return out


def prepare(db: Database, env: dict[str, str]) -> int:
    """Schema, bench data and scans; returns the admin's id."""
    build_schema(env)
    output = flask(
        env,
        "bench-data",
        "--producers",
        str(PRODUCERS),
        "--products",
        str(PRODUCTS),
        "--stamps",
        str(STAMPS),
    )
    log("  " + "\n  ".join(x for x in output.splitlines() if ":" in x))
    return _scans_and_admin(db)


def measure(db: Database, reuse: bool = False) -> dict[str, Any]:
    """`reuse`: the database already holds the data (BENCH_STATS_DATABASE_URL)."""
    with tempfile.TemporaryDirectory(prefix="choque-media-") as media:
        env = app_env(db, media)
        started = time.perf_counter()
        if reuse:
            flask(env, "db", "upgrade")
            admin_id = int(sql_scalar(db, "SELECT id FROM \"user\" WHERE phone = '+84900000999'"))
        else:
            admin_id = prepare(db, env)
        data_seconds = time.perf_counter() - started
        started = time.perf_counter()
        refresh_output = flask(env, "stats", "refresh", "--full")
        refresh_seconds = time.perf_counter() - started
        started = time.perf_counter()
        flask(env, "stats", "refresh")
        incremental_seconds = time.perf_counter() - started
        log(f"  stats refresh --full: {refresh_seconds:.1f} s ({refresh_output.splitlines()})")
        log(f"  stats refresh (incremental): {incremental_seconds:.1f} s")
        result: dict[str, Any] = {
            "database": database_version(db),
            "reused_database": reuse,
            "data": {
                "producers": PRODUCERS,
                "products": PRODUCTS,
                "stamps": sql_scalar(db, "SELECT count(*) FROM stamp"),
                "scans": sql_scalar(db, "SELECT count(*) FROM scan"),
                "certificates": sql_scalar(db, "SELECT count(*) FROM ocop_certificate"),
                "stat_daily_rows": sql_scalar(db, "SELECT count(*) FROM stat_daily"),
            },
            "data_seconds": round(data_seconds, 1),
            "refresh_full_seconds": round(refresh_seconds, 1),
            "refresh_incremental_seconds": round(incremental_seconds, 1),
            "workers": workers(),
            "load": f"{CONNECTIONS} keep-alive connections, {SECONDS} s per run (Python threads)",
        }
        app = "bench.bench_statistics_pages:create_bench_app()"
        for mode, seconds in (("uncached", "0"), ("cached", "60")):
            log(f"  -- {mode} (STATS_CACHE_SECONDS={seconds})")
            with gunicorn({**env, "BENCH_STATS_CACHE_SECONDS": seconds}, app=app) as base:
                # cached: warm long enough for every worker to have counted each question once
                result[mode] = _pages(base, admin_id, warm_up=1 if seconds == "0" else 4)
        return result


def main() -> int:
    facts = machine()
    log(f"{NAME}: {facts['cores']} cores, Python {facts['python']}, commit {facts['commit']}")
    kinds = [k.strip() for k in os.environ.get("BENCH_DATABASES", "postgresql").split(",")]
    if "postgresql" not in kinds or not postgres_reachable():
        log("this benchmark needs PostgreSQL (its scan generator is PostgreSQL SQL); skipped")
        return 0
    figures: dict[str, Any] = {}
    log(f"[postgresql] {PRODUCERS:,} producers, {PRODUCTS:,} products, {STAMPS:,} stamps")
    existing = os.environ.get("BENCH_STATS_DATABASE_URL", "")
    if existing:  # prepared earlier with `python -m bench.bench_statistics_pages prepare URL`
        figures["postgresql"] = measure(Database("postgresql", existing), reuse=True)
    else:
        with database("postgresql") as db:
            figures["postgresql"] = measure(db)
    write_results(NAME, BASELINE, figures)
    return 0


def prepare_only(url: str) -> int:
    """`python -m bench.bench_statistics_pages prepare <database url>`: fill an existing, empty
    database once, to measure it several times (drop it yourself afterwards)."""
    with tempfile.TemporaryDirectory(prefix="choque-media-") as media:
        db = Database("postgresql", url)
        admin_id = prepare(db, app_env(db, media))
    log(f"prepared {url}; admin id {admin_id}")
    return 0


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "prepare":
        raise SystemExit(prepare_only(sys.argv[2]))
    raise SystemExit(main())
