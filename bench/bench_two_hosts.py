"""Two app hosts behind nginx (deploy/nginx/choque.conf): two gunicorn instances on two loopback
ports, as two hosts would be, sharing PostgreSQL and Redis.

Measured in the same run, alternating:
- the scan page through nginx with ONE instance upstream, then with TWO: the ratio is the
  scale-out (aim ≥ 1.8× — which needs two machines: here both instances share the same cores);
- a bare Flask app under the same gunicorn settings: the baseline of every ratio here.
Checked afterwards, with rate limits on and both instances on Redis:
- a limit of N holds across both hosts (GET /s/<code>: 600 a minute per address, sent through
  nginx, which alternates hosts: exactly 600 answers 200, the rest 429);
- a page built by one host is served by the other (Redis page cache: same Last-Modified);
- nginx serves a public page from its own cache on the second request (X-Cache: HIT).
- two `flask worker` processes, one per host, on the shared Redis queue: jobs of the real
  background task are taken by whichever is free.

Needs nginx (Debian's package) and Redis; says so and writes a result saying what was
skipped when either is missing.

    python -m bench.bench_two_hosts   (BENCH_TWO_HOSTS_STAMPS, BENCH_DURATION, BENCH_ROUNDS)
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import median
from typing import Any

from bench.harness import (
    BARE_APP,
    BARE_PATH,
    DURATION,
    ROOT,
    ROUNDS,
    app_env,
    build_schema,
    database,
    database_version,
    env_int,
    flask,
    free_port,
    gunicorn,
    load,
    load_tool,
    log,
    machine,
    postgres_reachable,
    sql_rows,
    workers,
    write_results,
)

NAME = "two_hosts"
BASELINE = (
    "GET /s/<code> through nginx with one app instance upstream (same run); every load also "
    "divided by GET / of a bare Flask app under the same gunicorn settings"
)
STAMPS = env_int("BENCH_TWO_HOSTS_STAMPS", 200_000)
CONNECTIONS = env_int("BENCH_SCAN_CONNECTIONS", 64)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SITE = ROOT / "deploy" / "nginx" / "choque.conf"
SCAN_PAGE_LIMIT = 600  # traceability.stamps.public_views.SCAN_PAGE_LIMIT, per minute


def redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


def render_site(upstreams: list[str], port: int, cache_dir: Path) -> str:
    """deploy/nginx/choque.conf with its @upstream and @listen lines pointed at loopback."""
    lines, upstream_done = [], False
    for line in SITE.read_text().splitlines():
        if "# @upstream" in line:
            if not upstream_done:
                lines += [f"    server {u} max_fails=3 fail_timeout=10s;" for u in upstreams]
                upstream_done = True
            continue
        if "# @listen" in line:
            line = f"    listen 127.0.0.1:{port};"
        lines.append(line.replace("/var/cache/nginx/choque", str(cache_dir)))
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def nginx(upstreams: list[str]) -> Iterator[str]:
    """nginx on a free loopback port in front of these gunicorn addresses."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="choque-nginx-") as tmp:
        prefix = Path(tmp)
        os.chmod(prefix, 0o755)
        (prefix / "cache").mkdir()
        os.chmod(prefix / "cache", 0o777)
        (prefix / "site.conf").write_text(render_site(upstreams, port, prefix / "cache"))
        (prefix / "nginx.conf").write_text(
            "daemon off;\nworker_processes 1;\n"
            f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n  access_log off;\n"
            f"  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n"
            f"  include {prefix}/site.conf;\n}}\n"
        )
        command = [shutil.which("nginx") or "nginx", "-p", str(prefix), "-c", "nginx.conf"]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{check.stderr}")
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(f"nginx exited: {process.stderr.read().decode()}")
                with contextlib.suppress(OSError, http.client.HTTPException):
                    if get(base, "/healthz")[0] == 200:
                        break
                time.sleep(0.2)
            yield base
        finally:
            process.send_signal(signal.SIGQUIT)  # graceful
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def get(base: str, path: str) -> tuple[int, dict[str, str]]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def hammer(base: str, path: str, count: int) -> dict[int, int]:
    """`count` GETs on one keep-alive connection (loopback only); answers by status."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    statuses: dict[int, int] = {}
    try:
        for _ in range(count):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
    finally:
        conn.close()
    return statuses


def shared_env(env: dict[str, str], limits: bool) -> dict[str, str]:
    out = dict(env)
    out.update(
        {
            "REDIS_URL": REDIS_URL,
            "PAGE_CACHE": "redis",
            "PAGE_CACHE_PREFIX": f"choque-bench-{os.getpid()}-{int(time.time())}:",
            "RATELIMIT_ENABLED": "true" if limits else "false",
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "PROXY_FIX": "true",
        }
    )
    return out


def measure(paths: list[str], products: list[str], env: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    fast = shared_env(env, limits=False)
    with (
        gunicorn(fast) as host_a,
        gunicorn(fast) as host_b,
        gunicorn(fast, BARE_APP) as bare,
        nginx([host_a.removeprefix("http://")]) as one,
        nginx([host_a.removeprefix("http://"), host_b.removeprefix("http://")]) as two,
    ):
        for base, label in ((bare, "bare"), (one, "one"), (two, "two")):
            load(base, [BARE_PATH] if label == "bare" else paths, "warm-up", duration=2)
        runs: dict[str, list[Any]] = {"bare": [], "one": [], "two": []}

        def bare_run() -> None:
            runs["bare"].append(
                load(bare, [BARE_PATH], "GET / (bare Flask app)", connections=CONNECTIONS)
            )
            log("  " + runs["bare"][-1].line())

        bare_run()
        for _ in range(ROUNDS):
            for key, base in (("one", one), ("two", two)):
                label = f"nginx → {key} instance{'s' if key == 'two' else ''}"
                runs[key].append(load(base, paths, label, connections=CONNECTIONS))
                log("  " + runs[key][-1].line())
            bare_run()
    scale = [t.rps / o.rps for o, t in zip(runs["one"], runs["two"], strict=True)]
    around = [(a.rps + b.rps) / 2 for a, b in zip(runs["bare"], runs["bare"][1:], strict=False)]
    result.update(
        {
            "runs": runs,
            "scale_out_ratio": round(median(scale), 3),
            "scale_out_ratio_each_round": [round(x, 3) for x in scale],
            "one_instance_ratio_bare": round(
                median(o.rps / b for o, b in zip(runs["one"], around, strict=True)), 3
            ),
            "two_instances_ratio_bare": round(
                median(t.rps / b for t, b in zip(runs["two"], around, strict=True)), 3
            ),
            "non_2xx": sum(r.non_2xx for k in ("one", "two") for r in runs[k]),
            "socket_errors": sum(r.socket_errors for k in ("one", "two") for r in runs[k]),
        }
    )
    log(
        f"  two instances ÷ one: {result['scale_out_ratio']}× (aim ≥ 1.8 on two machines); "
        f"÷ bare app: one {result['one_instance_ratio_bare']}×, two "
        f"{result['two_instances_ratio_bare']}×"
    )

    limited = shared_env(env, limits=True)
    with (
        gunicorn(limited) as host_a,
        gunicorn(limited) as host_b,
        nginx([host_a.removeprefix("http://"), host_b.removeprefix("http://")]) as two,
    ):
        statuses = hammer(two, paths[0], SCAN_PAGE_LIMIT + 50)
        result["rate_limit"] = {
            "sent": SCAN_PAGE_LIMIT + 50,
            "limit_per_minute": SCAN_PAGE_LIMIT,
            "answers": statuses,
            "holds_across_hosts": statuses.get(200, 0) == SCAN_PAGE_LIMIT,
        }
        log(f"  rate limit {SCAN_PAGE_LIMIT}/minute across both hosts: {statuses}")

        product = products[0]
        _status, first = get(host_a, product)
        time.sleep(1.2)  # a page rebuilt by the other host would carry a later Last-Modified
        _status, second = get(host_b, product)
        shared = first.get("last-modified") == second.get("last-modified") is not None
        result["page_cache_shared"] = {
            "host_a_last_modified": first.get("last-modified"),
            "host_b_last_modified": second.get("last-modified"),
            "shared": shared,
        }
        other = products[1]
        get(two, other)
        _status, proxied = get(two, other)
        result["nginx_cache_second_request"] = proxied.get("x-cache")
        log(
            f"  page built by host A served by host B: {shared}; nginx X-Cache on the second "
            f"request: {proxied.get('x-cache')}"
        )
    result["rq_workers"] = rq_workers_share(env)
    return result


def rq_workers_share(env: dict[str, str], jobs: int = 40) -> dict[str, Any]:
    """One `flask worker` per host on the shared Redis queue: real task jobs (the webhook
    sender's run, as a commit enqueues it) are taken by whichever worker is free."""
    from collections import Counter

    from redis import Redis
    from rq import Queue

    from core.jobs import run_rq_job

    queue_name = f"choque-bench-{os.getpid()}"
    worker_env = {**env, "REDIS_URL": REDIS_URL, "JOBS_QUEUE": queue_name}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker"]
    hosts = [
        subprocess.Popen(command, cwd=ROOT, env=worker_env, stdout=subprocess.DEVNULL)
        for _ in range(2)
    ]
    queue = Queue(queue_name, connection=Redis.from_url(REDIS_URL))
    try:
        time.sleep(3)  # both registered and listening
        started = time.monotonic()
        queued = [queue.enqueue(run_rq_job, "webhooks", job_timeout=60) for _ in range(jobs)]
        while time.monotonic() - started < 60:
            states = [job.get_status(refresh=True) for job in queued]
            if all(state in ("finished", "failed") for state in states):
                break
            time.sleep(0.2)
        for job in queued:
            job.refresh()
        taken = Counter(job.worker_name or "none" for job in queued)
        outcome = {
            "jobs": jobs,
            "finished": sum(job.get_status() == "finished" for job in queued),
            "seconds": round(time.monotonic() - started, 2),
            "taken_by_worker": dict(taken),
            "both_hosts_took_jobs": len([n for n in taken if n != "none"]) == 2,
        }
        log(f"  RQ: {outcome['finished']}/{jobs} jobs in {outcome['seconds']} s, {dict(taken)}")
        return outcome
    finally:
        for worker in hosts:
            worker.send_signal(signal.SIGTERM)
        for worker in hosts:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
        queue.delete(delete_jobs=True)


def main() -> int:
    facts = machine()
    log(f"{NAME}: {facts['cores']} cores, Python {facts['python']}, commit {facts['commit']}")
    missing = [
        what
        for what, ok in (
            ("nginx (apt-get install nginx)", shutil.which("nginx") is not None),
            ("Redis at " + REDIS_URL, redis_reachable()),
            ("PostgreSQL", postgres_reachable()),
        )
        if not ok
    ]
    if missing:
        log(f"  skipped: missing {', '.join(missing)}")
        write_results(NAME, BASELINE, {"skipped": f"missing {', '.join(missing)}"})
        return 0
    with database("postgresql") as db, tempfile.TemporaryDirectory(prefix="choque-media-") as m:
        env = app_env(db, m)
        build_schema(env)
        output = flask(
            env, "bench-data", "--producers", "100", "--products", "2000", "--stamps", str(STAMPS)
        )
        log("  " + "\n  ".join(x for x in output.splitlines() if ":" in x))
        codes = sql_rows(
            db,
            "SELECT s.code FROM stamp s JOIN batch b ON b.id = s.batch_id WHERE s.state = "
            "'active' AND b.status = 'active' ORDER BY random() LIMIT 5000",
        )
        slugs = sql_rows(db, "SELECT slug FROM product WHERE status = 'published' LIMIT 2")
        figures = {
            "postgresql": {
                "database": database_version(db),
                "stamps": STAMPS,
                "workers_per_instance": workers(),
                "load_tool": load_tool(),
                "connections": CONNECTIONS,
                "duration_s": DURATION,
                **measure([f"/s/{c}" for (c,) in codes], [f"/p/{s}" for (s,) in slugs], env),
            }
        }
    write_results(NAME, BASELINE, figures)
    checks = figures["postgresql"]
    ok = checks["rate_limit"]["holds_across_hosts"] and checks["page_cache_shared"]["shared"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
