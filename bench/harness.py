"""What every benchmark shares: databases of its own, the app under gunicorn, a load generator,
machine facts and the results file.

Load: wrk (`wrk -t2 -c32 -d10s --latency` with a Lua script rotating paths) when installed,
otherwise a small Python generator (threads + http.client keep-alive, bounded in connections
and time, loopback only). Nothing is installed by the benchmarks; results say which tool ran.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN_URL = os.environ.get(
    "BENCH_PG_URL",
    os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
)
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
WARMUP = 2
SETTLE = 1.0
MAX_PY_CONNECTIONS = 64
MAX_PY_SECONDS = 60


def log(message: str) -> None:
    print(message, flush=True)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value.replace("_", "")) if value.strip() else default


# --------------------------------------------------------------------------- databases


@dataclass
class Database:
    kind: str  # sqlite | postgresql
    url: str


def wanted_backends() -> list[str]:
    return [b.strip() for b in os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")]


def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(_plain(PG_ADMIN_URL), connect_timeout=3):
            return True
    except Exception:
        return False


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextlib.contextmanager
def database(kind: str) -> Iterator[Database]:
    """A fresh, empty database that is removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="choque-bench-") as tmp:
            yield Database("sqlite", f"sqlite:///{tmp}/bench.db")
        return
    import psycopg

    name = f"choque_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_plain(PG_ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Database("postgresql", f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
    finally:
        with psycopg.connect(_plain(PG_ADMIN_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def backends() -> list[str]:
    """The databases this run measures: SQLite always, PostgreSQL when reachable."""
    chosen = []
    for kind in wanted_backends():
        if kind == "sqlite":
            chosen.append(kind)
        elif kind == "postgresql":
            if postgres_reachable():
                chosen.append(kind)
            else:
                log(f"PostgreSQL at {PG_ADMIN_URL} is unreachable: measuring SQLite only")
    return chosen


def app_env(db: Database, media: str) -> dict[str, str]:
    """The environment of the server under test (production settings, no rate limits)."""
    env = dict(os.environ)
    env.update(
        {
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": db.url,
            "RATELIMIT_ENABLED": "false",
            # limits are off, but production refuses per-process storage even then
            "RATELIMIT_STORAGE_URI": f"sqlite:///{media}/ratelimits.sqlite",
            "MEDIA_ROOT": media,
            "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
            "FLASK_APP": "wsgi",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def flask(env: dict[str, str], *args: str) -> str:
    """Run `flask --app wsgi …` with this environment; its output is echoed and returned."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{output}")
    return output


def has_migrations() -> bool:
    return any((ROOT / "migrations" / "versions").glob("*.py"))


def build_schema(env: dict[str, str]) -> str:
    """`flask db upgrade` when revisions exist, otherwise create_all (before the lead's
    migrations land)."""
    if has_migrations():
        flask(env, "db", "upgrade")
        return "flask db upgrade"
    code = (
        "from wsgi import create_app\nfrom core.db import db\n"
        "app = create_app()\nwith app.app_context():\n    db.create_all()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"create_all failed:\n{done.stderr}")
    return "create_all"


def sql_scalar(db: Database, query: str) -> Any:
    """One value from the benchmark's database, read directly (not through the app)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db.url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(query)).scalar()
    finally:
        engine.dispose()


def sql_rows(db: Database, query: str) -> list[Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(db.url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(query)).all())
    finally:
        engine.dispose()


def database_version(db: Database) -> str:
    if db.kind == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    return f"PostgreSQL {sql_scalar(db, 'SHOW server_version')}"


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def workers() -> int:
    return env_int("BENCH_WORKERS", 2 * (os.cpu_count() or 1))


def _gunicorn_command() -> list[str]:
    local = Path(sys.executable).parent / "gunicorn"
    return [str(local)] if local.exists() else [sys.executable, "-m", "gunicorn"]


SERVERS: dict[str, subprocess.Popen[Any]] = {}  # base URL → its gunicorn master
BARE_APP = "bench.bare_app:create_bare_app()"
BARE_PATH = "/"


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], app: str = "bench.app:create_bench_app()", cwd: Path = ROOT
) -> Iterator[str]:
    """Start gunicorn on a free loopback port, wait for /healthz, yield the base URL, stop it
    (SIGTERM: workers finish the requests they hold). `cwd`: the code it serves (another
    checkout of the project measures an earlier commit in the same run)."""
    port = free_port()
    command = [
        *_gunicorn_command(),
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers()),
        "--log-level",
        "warning",
        "--graceful-timeout",
        "20",
    ]
    base = f"http://127.0.0.1:{port}"
    with tempfile.NamedTemporaryFile(prefix="choque-gunicorn-", suffix=".log") as logfile:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=logfile, stderr=logfile)
        try:
            wait_healthy(base, process, Path(logfile.name))
            SERVERS[base] = process
            yield base
        finally:
            SERVERS.pop(base, None)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            errors = Path(logfile.name).read_text(errors="replace").strip()
            if errors:
                log(f"  gunicorn log (last lines):\n{_tail(errors, 15)}")


@contextlib.contextmanager
def earlier_code(env: dict[str, str], directory: str) -> Iterator[str | None]:
    """Another checkout of the project (`directory`, e.g. `git archive <commit> | tar -x`) served
    by its own gunicorn with the same settings, to be measured in the same run; None without."""
    if not directory:
        yield None
        return
    with gunicorn(env, cwd=Path(directory)) as base:
        yield base


def worker_pids(base: str) -> list[int]:
    """The gunicorn workers serving `base` (children of its master, by parent id)."""
    master = SERVERS[base].pid
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(x) for x in children.read_text().split()] if children.exists() else []


def kill_a_worker_later(base: str, after: float) -> threading.Timer:
    """SIGKILL one worker of this server `after` seconds from now (gunicorn starts another)."""

    def kill() -> None:
        pids = worker_pids(base)
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            log(f"  SIGKILL sent to worker {pids[0]}")

    timer = threading.Timer(after, kill)
    timer.start()
    return timer


def _tail(text: str, lines: int) -> str:
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def wait_healthy(base: str, process: subprocess.Popen[Any], logfile: Path, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{logfile.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s")


def get_status(base: str, path: str) -> int:
    try:
        with urllib.request.urlopen(f"{base}{path}", timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


# --------------------------------------------------------------------------- load


@dataclass
class Load:
    label: str
    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    ok_2xx: int
    non_2xx: int
    socket_errors: int
    paths: int
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.label:<28} {self.rps:>9,.0f} req/s  p50 {self.p50_ms:7.2f} ms  "
            f"p99 {self.p99_ms:7.2f} ms  non-2xx {self.non_2xx}  errors {self.socket_errors}"
        )


def load_tool() -> str:
    forced = os.environ.get("BENCH_LOAD_TOOL", "")
    if forced in ("wrk", "python"):
        return forced
    return "wrk" if shutil.which("wrk") else "python"


def load(
    base: str,
    paths: Sequence[str],
    label: str,
    duration: int = DURATION,
    connections: int = CONNECTIONS,
) -> Load:
    if not base.startswith("http://127.0.0.1:"):
        raise ValueError("load is generated against loopback only")
    time.sleep(SETTLE)  # let the workers finish what the previous load left in flight
    if load_tool() == "wrk":
        return _wrk(base, paths, label, duration, connections)
    return _python_load(base, paths, label, duration, connections)


_WRK_SCRIPT = """
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  ok = 0
  other = 0
  math.randomseed(os.time() * 1000 + id * 7919)
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local ok_total, other_total = 0, 0
  for _, t in ipairs(threads) do
    ok_total = ok_total + t:get("ok")
    other_total = other_total + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"ok":%d,' ..
    '"non_2xx":%d,"socket_errors":%d,"timeouts":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    ok_total, other_total, e.connect + e.read + e.write, e.timeout))
end
"""


def _lua_string(path: str) -> str:
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk(base: str, paths: Sequence[str], label: str, duration: int, connections: int) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("paths = {" + ",".join(_lua_string(p) for p in paths) + "}\n")
        script.write(_WRK_SCRIPT)
    try:
        command = [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            script.name,
            base,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(script.name)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures:\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("WRKJSON "))
    seconds = data["duration_us"] / 1e6
    return Load(
        label=label,
        tool="wrk",
        requests=data["requests"],
        seconds=seconds,
        rps=data["requests"] / seconds,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        ok_2xx=data["ok"],
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"] + data["timeouts"],
        paths=len(paths),
    )


def _python_load(
    base: str, paths: Sequence[str], label: str, duration: int, connections: int
) -> Load:
    """Threads with keep-alive connections; each finishes the request it holds at the deadline,
    so every request sent is counted."""
    connections = min(connections, MAX_PY_CONNECTIONS)
    duration = min(duration, MAX_PY_SECONDS)
    host, port = base.removeprefix("http://").split(":")
    latencies: list[list[float]] = [[] for _ in range(connections)]
    statuses = [{"ok": 0, "other": 0, "errors": 0} for _ in range(connections)]
    start = time.perf_counter()
    deadline = start + duration

    def worker(index: int) -> None:
        rng = random.Random(index)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        mine, counts = latencies[index], statuses[index]
        while time.perf_counter() < deadline:
            path = paths[rng.randrange(len(paths))]
            began = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                counts["errors"] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                continue
            mine.append(time.perf_counter() - began)
            counts["ok" if 200 <= response.status < 300 else "other"] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    every = sorted(x for mine in latencies for x in mine)
    total = len(every)

    def pct(p: float) -> float:
        return every[min(total - 1, int(p / 100 * total))] * 1000 if total else 0.0

    return Load(
        label=label,
        tool="python",
        requests=total,
        seconds=seconds,
        rps=total / seconds,
        p50_ms=pct(50),
        p99_ms=pct(99),
        ok_2xx=sum(s["ok"] for s in statuses),
        non_2xx=sum(s["other"] for s in statuses),
        socket_errors=sum(s["errors"] for s in statuses),
        paths=len(paths),
    )


def warm_up(base: str, paths: Sequence[str]) -> None:
    load(base, paths, "warm-up", duration=WARMUP)


ROUNDS = env_int("BENCH_ROUNDS", 2)


def bracketed(
    base: str,
    trivial: str,
    pages: dict[str, tuple[Any, ...]],
    rounds: int = ROUNDS,
    after_warm_up: Callable[[], Any] | None = None,
    bare: str | None = None,
    connections: int = CONNECTIONS,
) -> dict[str, Any]:
    """Alternate the baselines and the pages: B T P1 P2 … B T P1 P2 … B T, where B is the bare
    Flask app (`bare`, another gunicorn with the same settings) and T the app's own trivial
    route. Each page run is compared with the mean of the two baseline runs around it
    (background load drifts); the figure reported is the median over the rounds.

    `pages` maps a key to (label, paths) or (label, paths, base of another server measured
    in the same run, e.g. an earlier commit).
    Returns {"trivial": [Load…], "bare": [Load…], key: {…}}:
    per page `ratio_rps` (÷ the bare app when measured, else ÷ the trivial route),
    `ratio_rps_bare`, `ratio_rps_trivial` and the p99 ratios likewise; `app_overhead_ratio` is
    the trivial route ÷ the bare app. `after_warm_up()` runs once the warm-up is over.
    """
    if bare is not None:
        warm_up(bare, [BARE_PATH])
    warm_up(base, [trivial])
    for _label, paths, *where in pages.values():
        warm_up(where[0] if where else base, paths)
    time.sleep(SETTLE)
    marker = after_warm_up() if after_warm_up else None
    baselines: dict[str, list[Load]] = {"trivial": []}
    if bare is not None:
        baselines["bare"] = []

    def measure_baselines() -> None:
        if bare is not None:
            baselines["bare"].append(
                load(bare, [BARE_PATH], "GET / (bare Flask app)", connections=connections)
            )
            log("  " + baselines["bare"][-1].line())
        baselines["trivial"].append(
            load(base, [trivial], f"GET {trivial}", connections=connections)
        )
        log("  " + baselines["trivial"][-1].line())

    measure_baselines()
    runs: dict[str, list[Load]] = {key: [] for key in pages}
    for _round in range(rounds):
        for key, (label, paths, *where) in pages.items():
            target = where[0] if where else base
            runs[key].append(load(target, paths, label, connections=connections))
            log("  " + runs[key][-1].line())
        measure_baselines()
    out: dict[str, Any] = {"after_warm_up": marker, **baselines}
    for key, measured in runs.items():
        figures: dict[str, Any] = {"runs": measured}
        for name, loads in baselines.items():
            rps_ratios, p99_ratios = [], []
            for index, run in enumerate(measured):
                around = loads[index : index + 2]
                rps_ratios.append(run.rps / (sum(b.rps for b in around) / 2))
                p99_ratios.append(run.p99_ms / (sum(b.p99_ms for b in around) / 2))
            figures[f"ratio_rps_{name}"] = round(median(rps_ratios), 3)
            figures[f"ratio_p99_{name}"] = round(median(p99_ratios), 3)
            figures[f"ratio_rps_{name}_each_round"] = [round(r, 3) for r in rps_ratios]
        main = "bare" if bare is not None else "trivial"
        figures.update(
            {
                "rps": round(median([f.rps for f in measured]), 1),
                "p50_ms": round(median([f.p50_ms for f in measured]), 2),
                "p99_ms": round(median([f.p99_ms for f in measured]), 2),
                "ratio_rps": figures[f"ratio_rps_{main}"],
                "ratio_p99": figures[f"ratio_p99_{main}"],
                "ratio_rps_each_round": figures[f"ratio_rps_{main}_each_round"],
                "ratio_against": main,
                "ok_2xx": sum(f.ok_2xx for f in measured),
                "non_2xx": sum(f.non_2xx for f in measured),
                "socket_errors": sum(f.socket_errors for f in measured),
            }
        )
        out[key] = figures
    out["trivial_rps_median"] = round(median([b.rps for b in baselines["trivial"]]), 1)
    out["trivial_p99_ms_median"] = round(median([b.p99_ms for b in baselines["trivial"]]), 2)
    if bare is not None:
        out["bare_rps_median"] = round(median([b.rps for b in baselines["bare"]]), 1)
        out["bare_p99_ms_median"] = round(median([b.p99_ms for b in baselines["bare"]]), 2)
        each = [t.rps / b.rps for t, b in zip(baselines["trivial"], baselines["bare"], strict=True)]
        out["app_overhead_ratio"] = round(median(each), 3)
        out["app_overhead_ratio_each"] = [round(r, 3) for r in each]
    return out


# --------------------------------------------------------------------------- facts and results


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{'+dirty' if dirty else ''}" or "unknown"


def machine() -> dict[str, Any]:
    memory = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) // 1024} MiB"
    cpu = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 3) if baseline else 0.0


def write_results(name: str, baseline: str, figures: dict[str, Any], **extra: Any) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    body = {"benchmark": name, "baseline": baseline, "environment": machine(), **extra}
    body["figures"] = figures
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2, default=_jsonable) + "\n")
    log(f"results: {path.relative_to(ROOT)}")
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, Load):
        return asdict(value)
    return str(value)
