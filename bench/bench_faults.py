"""Faults under load: a gunicorn worker killed with SIGKILL, the database server going away.

Load on loopback only, bounded in time: consumers scanning stamps, a manager activating stamps
one by one, people signing in. Then the database is read directly and every acknowledged write
is looked for:

- lost: a scan answered 200 or an activation answered 303 that the database does not hold;
- half-written: a stamp whose scan counter disagrees with its scan rows, an active stamp without
  its lot or time, a broken event chain, a failed integrity check;
- recovery: seconds from the last fault until every worker is back and /healthz answers 200.

`make bench` (python -m bench.bench_faults) runs the long version and writes
bench/results/faults.json; tests/core/test_faults.py runs a short bounded one in CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests import live

PASSWORD = "mat-khau-thu-nghiem"  # tests.factories.PASSWORD
SETUP = """
import json
from core.db import db
from tests.factories import make_batch, make_producer, make_product, make_user
from traceability import stamps
from traceability.models import Stamp
from wsgi import create_app

app = create_app()
with app.app_context():
    manager = make_user(name="Bà Lan", phone="+84912000001")
    others = [make_user(name=f"Người {n}", phone=f"+8491200010{n}") for n in range(5)]
    producer = make_producer(manager=manager)
    product = make_product(producer)
    batch = make_batch(product, "LOT-FAULT")
    run = stamps.create_run(
        producer.id, __STAMPS__, product_id=product.id, created_by_id=manager.id
    )
    db.session.flush()
    stamps.activate_range(producer.id, 1, __SCANNED__, batch.id, manager.id)
    db.session.commit()
    rows = db.session.execute(
        db.select(Stamp.id, Stamp.serial, Stamp.code)
        .where(Stamp.run_id == run.id).order_by(Stamp.serial)
    ).all()
    print(json.dumps({
        "producer": producer.id, "batch": batch.id,
        "stamps": [[r.id, r.serial, r.code] for r in rows],
        "phones": [u.phone for u in [manager, *others]],
    }))
"""


@dataclass
class Tally:
    scans_acked: Counter = field(default_factory=Counter)  # stamp code -> 200 answers
    activations_acked: list[int] = field(default_factory=list)  # serials answered 303
    signins_acked: int = 0
    refused: Counter = field(default_factory=Counter)  # status -> count (clear errors)
    connection_errors: int = 0
    load_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class FaultReport:
    fault: str
    duration_s: float
    faults: int
    scans_acked: int
    activations_acked: int
    signins_acked: int
    scans_lost: int
    activations_lost: int
    half_written: int
    integrity: str
    chains_ok: bool
    recovery_s: float
    connection_errors: int
    refused: dict[str, int]
    stuck_transactions: int = 0


def _setup(env: dict[str, str], stamps: int, scanned: int) -> dict[str, Any]:
    code = SETUP.replace("__STAMPS__", str(stamps)).replace("__SCANNED__", str(scanned))
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=live.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    data["scanned"] = scanned
    return data


def _signed_in_cookie(base: str, phone: str, next_page: str) -> tuple[str, str]:
    cookie, token = live.form_session(base, "/login")
    form = {"csrf_token": token, "identifier": phone, "password": PASSWORD}
    status, headers, _body = live.request(base, "POST", "/login", form=form, cookie=cookie)
    assert status == 303, status
    cookie = headers["set-cookie"].split(";", 1)[0]
    status, headers, html = live.request(base, "GET", next_page, cookie=cookie)
    assert status == 200, status
    if "set-cookie" in headers:
        cookie = headers["set-cookie"].split(";", 1)[0]
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match
    return cookie, match.group(1)


def _call(tally: Tally, *args: Any, **kwargs: Any) -> int | None:
    try:
        status, _headers, _body = live.request(*args, timeout=10, **kwargs)
    except (OSError, http_errors()):
        with tally.lock:
            tally.connection_errors += 1
        return None
    if status >= 400:
        with tally.lock:
            tally.refused[str(status)] += 1
    return status


def http_errors() -> type[Exception]:
    import http.client

    return http.client.HTTPException


def _load(server_base: str, data: dict[str, Any], seconds: float, tally: Tally) -> None:
    try:
        _run_load(server_base, data, seconds, tally)
    except Exception as error:  # reported, not swallowed: the caller fails on it
        tally.load_error = repr(error)


def _run_load(server_base: str, data: dict[str, Any], seconds: float, tally: Tally) -> None:  # noqa: C901  (one loop mixing three kinds of request)
    stop_at = time.monotonic() + seconds
    active = [s for s in data["stamps"] if s[1] <= data["scanned"]]
    fresh = [s[1] for s in data["stamps"] if s[1] > data["scanned"]]
    fresh_lock = threading.Lock()
    manager_cookie, token = data["manager_session"]  # signed in before the faults start

    def scanner(n: int) -> None:
        source = f"127.0.0.{2 + n}"
        while time.monotonic() < stop_at:
            _id, _serial, code = random.choice(active)
            if _call(tally, server_base, "GET", f"/s/{code}", source=source) == 200:
                with tally.lock:
                    tally.scans_acked[code] += 1

    def activator() -> None:
        path = f"/manage/{data['producer']}/stamps/activate"
        while time.monotonic() < stop_at:
            with fresh_lock:
                if not fresh:
                    return
                serial = fresh.pop(0)
            form = {
                "csrf_token": token,
                "first": str(serial),
                "last": str(serial),
                "batch_id": str(data["batch"]),
                "confirm": "1",  # the count was confirmed (the form asks before activating)
            }
            status = _call(tally, server_base, "POST", path, form=form, cookie=manager_cookie)
            if status == 303:
                with tally.lock:
                    tally.activations_acked.append(serial)

    def signer(n: int) -> None:
        phones = data["phones"][1:]
        while time.monotonic() < stop_at:
            try:
                cookie, token = live.form_session(server_base, "/login")
            except (OSError, AssertionError, http_errors()):
                with tally.lock:
                    tally.connection_errors += 1
                continue
            form = {"csrf_token": token, "identifier": random.choice(phones), "password": PASSWORD}
            if _call(tally, server_base, "POST", "/login", form=form, cookie=cookie) == 303:
                with tally.lock:
                    tally.signins_acked += 1

    threads = [threading.Thread(target=scanner, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=activator) for _ in range(2)]
    threads += [threading.Thread(target=signer, args=(0,))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)


def _start_load(
    server: live.Server, data: dict[str, Any], seconds: float, tally: Tally
) -> tuple[threading.Thread, float]:
    """Sign the manager in, then start the load in a thread; (the thread, when it started)."""
    data["manager_session"] = _signed_in_cookie(
        server.base, data["phones"][0], f"/manage/{data['producer']}/stamps/activate"
    )
    loader = threading.Thread(target=_load, args=(server.base, data, seconds, tally))
    started = time.monotonic()
    loader.start()
    return loader, started


def _report(
    fault: str,
    seconds: float,
    faults: int,
    tally: Tally,
    checks: dict[str, Any],
    recovery: float,
    **extra: Any,
) -> FaultReport:
    """What the clients were told against what the database holds, for either fault."""
    if tally.load_error:
        raise RuntimeError(f"the load did not run: {tally.load_error}")
    return FaultReport(
        fault=fault,
        duration_s=seconds,
        faults=faults,
        scans_acked=sum(tally.scans_acked.values()),
        activations_acked=len(tally.activations_acked),
        signins_acked=tally.signins_acked,
        scans_lost=checks["scans_lost"],
        activations_lost=checks["activations_lost"],
        half_written=checks["half_written"],
        recovery_s=recovery,
        connection_errors=tally.connection_errors,
        refused=dict(tally.refused),
        **extra,
    )


def _count_losses(execute, mark: str, data: dict[str, Any], tally: Tally) -> dict[str, int]:
    """What the clients were told was saved but is not there, and rows written by halves: the same
    checks on either database (`execute` is a DB-API connection's, `mark` its parameter marker)."""
    by_code = {code: stamp_id for stamp_id, _serial, code in data["stamps"]}
    lost_scans = 0
    for code, acked in tally.scans_acked.items():
        sql = f"SELECT count(*) FROM scan WHERE stamp_id = {mark}"
        lost_scans += max(0, acked - execute(sql, (by_code[code],)).fetchone()[0])
    half = execute(
        "SELECT count(*) FROM stamp s WHERE s.scan_count != "
        "(SELECT count(*) FROM scan WHERE scan.stamp_id = s.id)"
    ).fetchone()[0]
    half += execute(
        "SELECT count(*) FROM stamp WHERE state = 'active' "
        "AND (batch_id IS NULL OR activated_at IS NULL)"
    ).fetchone()[0]
    lost_activations = 0
    for serial in tally.activations_acked:
        sql = f"SELECT state, batch_id FROM stamp WHERE producer_id = {mark} AND serial = {mark}"
        row = execute(sql, (data["producer"], serial)).fetchone()
        if row is None or tuple(row) != ("active", data["batch"]):
            lost_activations += 1
    return {"scans_lost": lost_scans, "activations_lost": lost_activations, "half_written": half}


def _check_sqlite(path: str, data: dict[str, Any], tally: Tally) -> dict[str, Any]:
    connection = sqlite3.connect(path)
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        losses = _count_losses(connection.execute, "?", data, tally)
    finally:
        connection.close()
    return {"integrity": integrity, **losses}


def _recovered(server: live.Server, workers: int, since: float, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            healthy = live.request(server.base, "GET", "/healthz", timeout=2)[0] == 200
        except OSError:
            healthy = False
        if healthy and len(server.worker_pids()) >= workers:
            return round(time.monotonic() - since, 2)
        time.sleep(0.05)
    return float("inf")


def kill_workers_under_load(
    home: Path, seconds: float = 8, kills: int = 2, workers: int = 3, stamps: int = 400
) -> FaultReport:
    """SIGKILL a worker `kills` times while scans, sign-ins and activations run (SQLite)."""
    env = live.server_env(home, RATELIMIT_ENABLED="false")
    live.flask(env, "db", "upgrade")
    data = _setup(env, stamps, scanned=10)
    tally = Tally()
    last_kill = time.monotonic()
    done_kills = 0
    with live.gunicorn(env, home, workers=workers, threads=2) as server:
        loader, started = _start_load(server, data, seconds, tally)
        for n in range(kills):
            time.sleep(seconds * (n + 1) / (kills + 1) - (time.monotonic() - started))
            pids = sorted(server.worker_pids())
            if pids:
                os.kill(random.choice(pids), signal.SIGKILL)
                last_kill = time.monotonic()
                done_kills += 1
        loader.join(seconds + 120)
        recovery = _recovered(server, workers, last_kill)
    checks = _check_sqlite(env["DATABASE_URL"].removeprefix("sqlite:///"), data, tally)
    verify = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "trace", "verify"],
        cwd=live.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return _report(
        "SIGKILL gunicorn worker (SQLite)",
        seconds,
        done_kills,
        tally,
        checks,
        recovery,
        integrity=checks["integrity"],
        chains_ok=verify.returncode == 0,
    )


# --- the database server going away: a TCP proxy in front of PostgreSQL we can cut ----------


class CuttableProxy:
    """Loopback TCP proxy to PostgreSQL. `down()` drops every connection and refuses new ones
    (as a server restart does, seen from the app); `up()` listens again on the same port."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = live.free_port()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def down(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()


def database_outage_under_load(
    home: Path, pg_admin_url: str, seconds: float = 10, outage: float = 3, workers: int = 2
) -> FaultReport:
    """PostgreSQL unreachable for `outage` seconds mid-load (connections cut, new ones
    refused): clear 503s meanwhile, full service after, no transaction left open."""
    import psycopg

    name = f"choque_fault_{os.getpid()}_{int(time.time())}"
    admin = pg_admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    proxy = CuttableProxy()
    proxy.up()
    try:
        base = pg_admin_url.rsplit("/", 1)[0].replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        direct = pg_admin_url.rsplit("/", 1)[0] + "/" + name
        env = live.server_env(home, RATELIMIT_ENABLED="false", DATABASE_URL=f"{base}/{name}")
        live.flask(env, "db", "upgrade")
        data = _setup(env, 400, scanned=10)
        tally = Tally()
        with live.gunicorn(env, home, workers=workers, threads=2) as server:
            loader, started = _start_load(server, data, seconds, tally)
            time.sleep(max(0.0, seconds / 3 - (time.monotonic() - started)))
            proxy.down()
            time.sleep(outage)
            proxy.up()
            back = time.monotonic()
            loader.join(seconds + 120)
            recovery = _recovered(server, workers, back)
        checks = _check_postgres(direct, data, tally, name)
    finally:
        proxy.down()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return _report(
        f"PostgreSQL unreachable {outage:.0f} s",
        seconds,
        1,
        tally,
        checks,
        recovery,
        integrity="n/a (PostgreSQL enforces constraints)",
        chains_ok=checks["chains_ok"],
        stuck_transactions=checks["stuck"],
    )


def _check_postgres(url: str, data: dict[str, Any], tally: Tally, name: str) -> dict[str, Any]:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        losses = _count_losses(conn.execute, "%s", data, tally)
        stuck = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND state LIKE 'idle in transaction%%'",
            (name,),
        ).fetchone()[0]
        chains = conn.execute(
            "SELECT count(*) FROM batch b WHERE b.chain_head IS DISTINCT FROM "
            "(SELECT e.hash FROM trace_event e WHERE e.batch_id = b.id ORDER BY e.seq DESC LIMIT 1)"
        ).fetchone()[0]
    return {
        **losses,
        "stuck": stuck,
        "chains_ok": chains == 0,
    }


def _figures(report: FaultReport) -> dict[str, Any]:
    acked = report.scans_acked + report.activations_acked
    lost = report.scans_lost + report.activations_lost
    figures = asdict(report)
    figures["acknowledged_lost_ratio"] = round(lost / acked, 6) if acked else None
    return figures


def main() -> None:
    import tempfile

    figures = {}
    with tempfile.TemporaryDirectory() as home:
        figures["sigkill_worker"] = _figures(
            kill_workers_under_load(Path(home), seconds=30, kills=5)
        )
    pg = os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    with tempfile.TemporaryDirectory() as home:
        figures["postgresql_outage"] = _figures(
            database_outage_under_load(Path(home), pg, seconds=30, outage=5)
        )
    result = {
        "benchmark": "faults under load (bench/bench_faults.py)",
        "baseline": "no fault: every acknowledged write kept (lost ratio 0), recovery 0 s",
        "figures": figures,
    }
    out = Path(__file__).parent / "results" / "faults.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
