"""Public catalog pages under load: GET /p/<slug> and GET /c/<slug> over a catalog of 1,000
producers and 100,000 products, against the trivial route in the same gunicorn run.

Baseline: GET /_bench/trivial (a Flask route returning "ok") in the same server, measured before
and after the pages; the ratio is page req/s ÷ mean trivial req/s.

    python -m bench.bench_catalog_pages        (BENCH_PRODUCTS, BENCH_PRODUCERS, BENCH_DATABASES,
                                                BENCH_DURATION, BENCH_CONNECTIONS to change)
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

from bench.app import TRIVIAL_PATH
from bench.harness import (
    BARE_APP,
    Database,
    app_env,
    backends,
    bracketed,
    build_schema,
    database,
    database_version,
    env_int,
    flask,
    get_status,
    gunicorn,
    load_tool,
    log,
    machine,
    sql_rows,
    workers,
    write_results,
)

NAME = "catalog_pages"
BASELINE = (
    "GET / of a bare Flask app (no extensions) under the same gunicorn settings, in the same run; "
    f"also GET {TRIVIAL_PATH} (the app's own trivial route) in the same gunicorn as the pages"
)
PRODUCERS = env_int("BENCH_PRODUCERS", 1_000)
PRODUCTS = env_int("BENCH_PRODUCTS", 100_000)
SAMPLE_PRODUCTS = 2_000
SAMPLE_PRODUCERS = 500
HOT = 20
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def page_cache_env(env: dict[str, str]) -> str:
    """The page cache as production runs it: Redis (shared by the workers) when reachable."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except Exception:
        env["PAGE_CACHE"] = "local"
        return "local (per worker; Redis unreachable)"
    env.update(
        {
            "REDIS_URL": REDIS_URL,
            "PAGE_CACHE": "redis",
            "PAGE_CACHE_PREFIX": f"choque-bench-{os.getpid()}-{int(time.time())}:",
        }
    )
    return f"redis ({REDIS_URL}, shared by the workers)"


def measure(db: Database) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="choque-media-") as media:
        env = app_env(db, media)
        schema = build_schema(env)
        page_cache = page_cache_env(env)
        started = time.perf_counter()
        output = flask(
            env, "bench-data", "--producers", str(PRODUCERS), "--products", str(PRODUCTS)
        )
        data_seconds = time.perf_counter() - started
        log("  " + "\n  ".join(x for x in output.splitlines() if ":" in x))
        products = [
            f"/p/{slug}"
            for (slug,) in sql_rows(
                db,
                "SELECT slug FROM product WHERE slug LIKE 'bench-%' AND status = 'published' "
                f"ORDER BY random() LIMIT {SAMPLE_PRODUCTS}",
            )
        ]
        producers = [
            f"/c/{slug}"
            for (slug,) in sql_rows(
                db,
                "SELECT slug FROM producer WHERE slug LIKE 'bench-%' "
                f"ORDER BY random() LIMIT {SAMPLE_PRODUCERS}",
            )
        ]
        result: dict[str, Any] = {
            "database": database_version(db),
            "schema": schema,
            "catalog": {"producers": PRODUCERS, "products": PRODUCTS},
            "bench_data_seconds": round(data_seconds, 1),
            "workers": workers(),
            "load_tool": load_tool(),
            "page_cache": page_cache,
        }
        with gunicorn(env) as base, gunicorn(env, BARE_APP) as bare:
            pages = {
                # the television case: a few products everyone opens (page cache warm)
                "product_page_hot": (f"GET /p/<slug> ({HOT} hot)", products[:HOT]),
                "producer_page_hot": (f"GET /c/<slug> ({HOT} hot)", producers[:HOT]),
                "home_page": ("GET /", ["/"]),
                # the long tail: mostly first visits (the page is built)
                "product_page": ("GET /p/<slug>", products),
                "producer_page": ("GET /c/<slug>", producers),
                "healthz": ("GET /healthz", ["/healthz"]),
            }
            for key, (_label, paths) in list(pages.items()):
                status = get_status(base, paths[0])
                if status != 200:
                    log(f"  {key}: {paths[0]} answers {status}; not measured yet")
                    result[key] = f"not measured: {paths[0]} answered {status}"
                    del pages[key]
            measured = bracketed(base, TRIVIAL_PATH, pages, bare=bare)
        for key in ("trivial", "trivial_rps_median", "bare", "bare_rps_median"):
            result[key] = measured[key]
        result["app_overhead_ratio"] = measured["app_overhead_ratio"]
        result["app_overhead_ratio_each"] = measured["app_overhead_ratio_each"]
        log(f"  the app's trivial route ÷ the bare app: {measured['app_overhead_ratio']:.3f}×")
        for key, (label, _paths) in pages.items():
            figures = measured[key]
            result[key] = figures
            result[f"{key}_ratio_rps"] = figures["ratio_rps"]
            result[f"{key}_ratio_p99"] = figures["ratio_p99"]
            log(
                f"  {label}: {figures['ratio_rps_bare']:.3f}× the bare app's throughput "
                f"(rounds: {figures['ratio_rps_bare_each_round']}), "
                f"{figures['ratio_rps_trivial']:.3f}× the trivial route's; p99 "
                f"{figures['ratio_p99_bare']:.1f}× the bare app's; non-2xx {figures['non_2xx']}"
            )
        return result


def main() -> int:
    facts = machine()
    log(f"{NAME}: {facts['cores']} cores, Python {facts['python']}, commit {facts['commit']}")
    figures: dict[str, Any] = {}
    for kind in backends():
        log(f"[{kind}] catalog of {PRODUCERS:,} producers and {PRODUCTS:,} products")
        with database(kind) as db:
            figures[kind] = measure(db)
    write_results(NAME, BASELINE, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
