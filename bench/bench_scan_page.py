"""The consumer scan page under load: GET /s/<code> for random active stamps among 1,000,000,
against the trivial route in the same gunicorn run; then proof that no scan record was lost.

Baseline: GET /_bench/trivial (a Flask route returning "ok") in the same server, measured before
and after the scan pages; the ratio is scan req/s ÷ mean trivial req/s (aim: ≥ 0.5).

No scan lost: after the server has stopped, the Scan rows added during the measured load must be
at least the number of 2xx answers to /s/ (wrk may leave up to one request per connection in
flight at its deadline: the server records those scans but wrk never counts their answers).

    python -m bench.bench_scan_page      (BENCH_STAMPS, BENCH_SCAN_PRODUCTS, BENCH_DATABASES,
                                          BENCH_DURATION, BENCH_CONNECTIONS to change)

BENCH_SCAN_DATABASE_URL: a PostgreSQL database prepared once (`flask db upgrade` and `flask
bench-data … --stamps N` with DATABASE_URL pointing at it) is used, not created nor dropped (the
counts are compared as differences). BENCH_SCAN_BEFORE_DIR: another checkout of the project (for
instance `git archive <commit> | tar -x -C DIR`) served by a second gunicorn on the same database
and measured in the same run as `scan_page_before`: before and after, each against the same bare
app. A cold run comes first (fresh workers, no lot part built in Redis; `cold_over_warm_rps`);
BENCH_SCAN_WARM=1 runs `flask stamps warm` before the server starts, as a deploy does.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from bench.app import TRIVIAL_PATH
from bench.harness import (
    BARE_APP,
    DURATION,
    SETTLE,
    Database,
    app_env,
    backends,
    bracketed,
    build_schema,
    database,
    database_version,
    earlier_code,
    env_int,
    flask,
    get_status,
    gunicorn,
    kill_a_worker_later,
    load,
    load_tool,
    log,
    machine,
    sql_rows,
    sql_scalar,
    workers,
    write_results,
)

NAME = "scan_page"
BASELINE = (
    "GET / of a bare Flask app (no extensions) under the same gunicorn settings, in the same run; "
    f"also GET {TRIVIAL_PATH} (the app's own trivial route) in the same gunicorn as the pages"
)
STAMPS = env_int("BENCH_STAMPS", 1_000_000)
PRODUCERS = env_int("BENCH_PRODUCERS", 1_000)
PRODUCTS = env_int("BENCH_SCAN_PRODUCTS", 10_000)
SAMPLE = 5_000
WARM = os.environ.get("BENCH_SCAN_WARM", "0") == "1"  # run `flask stamps warm` first
AIM = 0.5
SCAN_CONNECTIONS = env_int("BENCH_SCAN_CONNECTIONS", 64)  # the p99 aim is at 64

ACTIVE_CODES = (
    "SELECT s.code FROM stamp s JOIN batch b ON b.id = s.batch_id "
    "JOIN producer p ON p.id = s.producer_id "
    "WHERE s.state = 'active' AND b.status = 'active' AND p.slug LIKE 'bench-%' "
    f"ORDER BY random() LIMIT {SAMPLE}"
)


def counts(db: Database) -> tuple[int, int]:
    """Scan rows and the sum of the stamps' counters, read in one statement (one snapshot: a
    scan still in flight from the warm-up lands in both or in neither)."""
    ((scans, counted),) = sql_rows(
        db,
        "SELECT (SELECT count(*) FROM scan), (SELECT coalesce(sum(scan_count), 0) FROM stamp)",
    )
    return int(scans or 0), int(counted or 0)


ONE_STAMP_PER_LOT = (
    "SELECT min(s.code) FROM stamp s JOIN batch b ON b.id = s.batch_id "
    "WHERE s.state = 'active' AND b.status = 'active' GROUP BY s.batch_id"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
PREPARED_URL = os.environ.get("BENCH_SCAN_DATABASE_URL", "")
BEFORE_DIR = os.environ.get("BENCH_SCAN_BEFORE_DIR", "")


@contextlib.contextmanager
def scan_database(kind: str) -> Iterator[Database]:
    """A fresh database, or on PostgreSQL the prepared one (BENCH_SCAN_DATABASE_URL)."""
    if kind == "postgresql" and PREPARED_URL:
        yield Database("postgresql", PREPARED_URL)
        return
    with database(kind) as db:
        yield db


def shared_lot_parts(env: dict[str, str]) -> str:
    """As production runs it: the rendered lot parts in Redis (shared by the workers) when
    Redis is reachable."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except Exception:
        return "per worker (Redis unreachable)"
    env.update(
        {
            "REDIS_URL": REDIS_URL,
            "PAGE_CACHE_PREFIX": f"choque-bench-{os.getpid()}-{int(time.time())}:",
        }
    )
    return f"redis ({REDIS_URL}, shared by the workers)"


def warm_command(env: dict[str, str], lot_parts: str) -> float | None:
    """With BENCH_SCAN_WARM=1 and Redis: `flask stamps warm`, as a deploy runs it before the
    new release takes traffic (the cold run then starts with every lot part in Redis)."""
    if not (WARM and lot_parts.startswith("redis")):
        return None
    started = time.perf_counter()
    log("  " + flask(env, "stamps", "warm").strip())
    return round(time.perf_counter() - started, 1)


def first_visits(base: str, paths: list[str]) -> float:
    """One scan of a stamp of every lot (its part is built once, then shared): seconds taken."""
    started = time.perf_counter()
    for path in paths:
        get_status(base, path)
    return round(time.perf_counter() - started, 1)


def measure(db: Database) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="choque-media-") as media:
        env = app_env(db, media)
        schema = build_schema(env)
        lot_parts = shared_lot_parts(env)
        started = time.perf_counter()
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
        data_seconds = time.perf_counter() - started
        log("  " + "\n  ".join(x for x in output.splitlines() if ":" in x))
        paths = [f"/s/{code}" for (code,) in sql_rows(db, ACTIVE_CODES)]
        result: dict[str, Any] = {
            "database": database_version(db),
            "schema": schema,
            "stamps": int(sql_scalar(db, "SELECT count(*) FROM stamp")),
            "bench_data_seconds": round(data_seconds, 1),
            "workers": workers(),
            "load_tool": load_tool(),
            "connections": SCAN_CONNECTIONS,
            "lot_parts": lot_parts,
        }
        result["warm_command_s"] = warm_command(env, lot_parts)
        with (
            gunicorn(env) as base,
            gunicorn(env, BARE_APP) as bare,
            earlier_code(env, BEFORE_DIR) as before,
        ):
            status = get_status(base, paths[0])
            if status != 200:
                log(f"  {paths[0]} answers {status}: the scan page is not measured yet")
                result["scan_page"] = f"not measured: {paths[0]} answered {status}"
                return result
            # Cold (aim 4): fresh workers and no lot part built anywhere yet (a new cache
            # prefix in Redis), the same load as the warm runs below.
            cold = load(base, paths, "GET /s/<code> (cold)", DURATION, connections=SCAN_CONNECTIONS)
            log("  " + cold.line())
            result["cold_run"] = cold
            lots = [f"/s/{code}" for (code,) in sql_rows(db, ONE_STAMP_PER_LOT)]
            result["first_visit_of_every_lot_s"] = first_visits(base, lots)
            log(
                f"  one scan per lot ({len(lots)} lots, after the cold run): "
                f"{result['first_visit_of_every_lot_s']} s"
            )
            pages: dict[str, tuple[Any, ...]] = {"scan_page": ("GET /s/<code>", paths)}
            if before is not None:
                result["before_dir"] = BEFORE_DIR
                result["first_visit_of_every_lot_before_s"] = first_visits(before, lots)
                pages["scan_page_before"] = ("GET /s/<code> (before)", paths, before)
            measured = bracketed(
                base,
                TRIVIAL_PATH,
                pages,
                after_warm_up=lambda: counts(db),
                bare=bare,
                connections=SCAN_CONNECTIONS,
            )
            # the same load once more, with one worker SIGKILLed a third of the way through
            timer = kill_a_worker_later(base, SETTLE + DURATION / 3)
            killed = load(
                base, paths, "GET /s/<code> (SIGKILL)", DURATION, connections=SCAN_CONNECTIONS
            )
            timer.join()
            log("  " + killed.line())
        after = counts(db)  # the server has stopped: every request it accepted is finished
        before = measured["after_warm_up"]
        scan = measured["scan_page"]
        earlier = measured.get("scan_page_before")
        runs = len(scan["runs"]) + 1 + (len(earlier["runs"]) if earlier else 0)
        added, counter_added = after[0] - before[0], after[1] - before[1]
        answered = scan["ok_2xx"] + killed.ok_2xx + (earlier["ok_2xx"] if earlier else 0)
        lost = max(0, answered - added)
        in_flight = added - answered
        result.update(
            {
                "trivial": measured["trivial"],
                "trivial_rps_median": measured["trivial_rps_median"],
                "bare": measured["bare"],
                "bare_rps_median": measured["bare_rps_median"],
                "app_overhead_ratio": measured["app_overhead_ratio"],
                "scan_ratio_rps_trivial": scan["ratio_rps_trivial"],
                "scan_page": scan,
                "scan_ratio_rps": scan["ratio_rps"],
                "scan_ratio_p99": scan["ratio_p99"],
                "cold_over_warm_rps": round(cold.rps / scan["rps"], 3) if scan["rps"] else None,
                "cold_p99_ms": cold.p99_ms,
                "aim_ratio_rps": AIM,
                "scan_rows_added": added,
                "scan_count_added": counter_added,
                "responses_2xx": answered,
                "sigkill_run": killed,
                "scans_lost": lost,
                "scans_in_flight_at_deadline": in_flight,
                "no_scan_lost": lost == 0
                and in_flight <= SCAN_CONNECTIONS * runs + killed.socket_errors
                and counter_added == added,
            }
        )
        log(
            f"  GET /s/<code>: {scan['ratio_rps']:.3f}× the bare app's throughput "
            f"(rounds: {scan['ratio_rps_each_round']}; aim ≥ {AIM}), "
            f"{scan['ratio_rps_trivial']:.3f}× the app's trivial route; p99 {scan['p99_ms']} ms "
            f"({scan['ratio_p99']:.1f}× the bare app's); app overhead "
            f"{measured['app_overhead_ratio']:.3f}×"
        )
        log(
            f"  cold: {result['cold_over_warm_rps']}× the warm throughput, p99 {cold.p99_ms} ms "
            f"(aim: within 2× of warm, i.e. ≥ 0.5×)"
        )
        if earlier is not None:
            result.update(
                {
                    "scan_page_before": earlier,
                    "scan_ratio_rps_before": earlier["ratio_rps"],
                    "scan_ratio_p99_before": earlier["ratio_p99"],
                    "after_over_before_rps": round(scan["rps"] / earlier["rps"], 3),
                }
            )
            log(
                f"  before ({BEFORE_DIR}): {earlier['ratio_rps']:.3f}× the bare app, p99 "
                f"{earlier['p99_ms']} ms; after ÷ before {result['after_over_before_rps']}×"
            )
        log(
            f"  scans (with a worker SIGKILLed in the last run): {answered} answers 2xx, "
            f"{added} Scan rows added, stamp counters +"
            f"{counter_added}; lost {lost}, in flight at the load's deadline {in_flight} → "
            + ("no scan record lost" if result["no_scan_lost"] else "SCANS LOST")
        )
        return result


def main() -> int:
    facts = machine()
    log(f"{NAME}: {facts['cores']} cores, Python {facts['python']}, commit {facts['commit']}")
    figures: dict[str, Any] = {}
    for kind in backends():
        log(f"[{kind}] {STAMPS:,} stamps")
        with scan_database(kind) as db:
            figures[kind] = measure(db)
    write_results(NAME, BASELINE, figures)
    lost = [k for k, f in figures.items() if f.get("no_scan_lost") is False]
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
