"""The app's own overhead: `GET /_bench/trivial` in the real app ÷ the bare Flask app.

Both under gunicorn with the same settings, on an empty database of their own (the trivial
route reads nothing), alternated B T B T … B (the bare app, then the trivial route) so that a
shared machine's drift hits both. BENCH_OVERHEAD_BEFORE_DIR: another checkout of the project
(`git archive <commit> | tar -x -C /tmp/before`), whose trivial route is measured in the same
run, bracketed by the same bare runs: before and after in one run (after first; before first
with BENCH_OVERHEAD_BEFORE_FIRST=1), e.g.

    BENCH_OVERHEAD_BEFORE_DIR=/tmp/before BENCH_DATABASES=postgresql BENCH_ROUNDS=4 \\
        .venv/bin/python -m bench.bench_app_overhead

Then the workers' CPU time per answered request (/proc, each server in turn): throughput on a
shared machine follows the share of the cores a server gets, the CPU a request costs hardly
does. `*_cpu_ratio` = the bare app's CPU per request ÷ this one's.

Aim (issue 12): app overhead ≥ 0.8×.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from statistics import median
from typing import Any

from bench.app import TRIVIAL_PATH
from bench.harness import (
    BARE_APP,
    BARE_PATH,
    ROUNDS,
    app_env,
    backends,
    bracketed,
    build_schema,
    database,
    earlier_code,
    gunicorn,
    load,
    load_tool,
    log,
    worker_pids,
    workers,
    write_results,
)

BEFORE_DIR = os.environ.get("BENCH_OVERHEAD_BEFORE_DIR", "")
BEFORE_FIRST = os.environ.get("BENCH_OVERHEAD_BEFORE_FIRST", "") == "1"


TICKS = os.sysconf("SC_CLK_TCK")


def workers_cpu_seconds(base: str) -> float:
    """User + system CPU time of the server's workers so far (/proc/<pid>/stat)."""
    total = 0
    for pid in worker_pids(base):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def cpu_per_request(servers: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Worker CPU time per answered request, each server in turn, ROUNDS times. Throughput on
    a shared machine moves with the share of the cores the server gets; the CPU a request
    costs hardly does, so this is the steadier figure of what a request pays for."""
    each: dict[str, list[float]] = {name: [] for name in servers}
    for _round in range(ROUNDS):
        for name, (base, path) in servers.items():
            spent = workers_cpu_seconds(base)
            measured = load(base, [path], f"{name} (CPU per request)")
            spent = workers_cpu_seconds(base) - spent
            each[name].append(spent / max(measured.requests, 1) * 1e6)
            log(f"  {measured.line()}  {each[name][-1]:6.1f} µs CPU/request")
    out: dict[str, Any] = {
        f"{name}_cpu_us_per_request": round(median(values), 1) for name, values in each.items()
    }
    out["cpu_us_per_request_each_round"] = {
        name: [round(v, 1) for v in values] for name, values in each.items()
    }
    for name in servers:
        if name != "bare":  # the bare app's CPU per request ÷ this one's: 1.0 = no overhead
            out[f"{name}_cpu_ratio"] = round(
                out["bare_cpu_us_per_request"] / out[f"{name}_cpu_us_per_request"], 3
            )
    return out


def measure(kind: str) -> dict[str, Any]:
    with (
        database(kind) as db,
        tempfile.TemporaryDirectory(prefix="choque-bench-media-") as media,
    ):
        env = app_env(db, media)
        schema = build_schema(env)
        with (
            gunicorn(env, app=BARE_APP) as bare,
            gunicorn(env) as base,
            earlier_code(env, BEFORE_DIR) as before,
        ):
            pages = {}
            if before is not None:  # both codes measured alike: between two bare runs
                pages["trivial_after"] = (f"GET {TRIVIAL_PATH} (this code)", [TRIVIAL_PATH])
                pages["trivial_before"] = (f"GET {TRIVIAL_PATH} (before)", [TRIVIAL_PATH], before)
                if BEFORE_FIRST:  # a second run in the other order evens out the position
                    pages = dict(reversed(pages.items()))
            measured = bracketed(base, TRIVIAL_PATH, pages, bare=bare)
            servers = {"bare": (bare, BARE_PATH), "trivial": (base, TRIVIAL_PATH)}
            if before is not None:
                servers["trivial_before"] = (before, TRIVIAL_PATH)
            cpu = cpu_per_request(servers)
    result: dict[str, Any] = {
        "schema": schema,
        "app_overhead_ratio": measured["app_overhead_ratio"],
        "app_overhead_ratio_each": measured["app_overhead_ratio_each"],
        "trivial_rps_median": measured["trivial_rps_median"],
        "bare_rps_median": measured["bare_rps_median"],
        "trivial_p99_ms_median": measured["trivial_p99_ms_median"],
        "bare_p99_ms_median": measured["bare_p99_ms_median"],
        "runs": {"bare": measured["bare"], "trivial": measured["trivial"]},
        **cpu,
    }
    log(f"  {kind}: worker CPU per request {cpu}")
    log(
        f"  {kind}: app overhead (trivial ÷ bare) {result['app_overhead_ratio']:.3f}× "
        f"(each pair {result['app_overhead_ratio_each']})"
    )
    earlier = measured.get("trivial_before")
    if earlier is not None:
        # the earlier trivial route against the bare runs around it, like every page figure
        later = measured["trivial_after"]
        result.update(
            {
                "before_dir": BEFORE_DIR,
                "app_overhead_ratio_bracketed": later["ratio_rps_bare"],
                "app_overhead_ratio_bracketed_each": later["ratio_rps_bare_each_round"],
                "app_overhead_ratio_before": earlier["ratio_rps_bare"],
                "app_overhead_ratio_before_each": earlier["ratio_rps_bare_each_round"],
                "after_over_before_rps": round(later["rps"] / earlier["rps"], 3),
                "trivial_after": later,
                "trivial_before": earlier,
            }
        )
        for name, figures in (("after", later), ("before", earlier)):
            log(
                f"  {kind}: {name}: {figures['ratio_rps_bare']:.3f}× the bare runs around it "
                f"(each round {figures['ratio_rps_bare_each_round']})"
            )
        log(f"  {kind}: after ÷ before {result['after_over_before_rps']:.3f}×")
    return result


def main() -> None:
    figures = {}
    for kind in backends():
        log(f"app overhead on {kind}: {workers()} workers, {ROUNDS} rounds, {load_tool()}")
        figures[kind] = measure(kind)
    write_results(
        "app_overhead", "bare Flask app (bench/bare_app.py), same gunicorn settings", figures
    )


if __name__ == "__main__":
    main()
