"""A real gunicorn with several workers on a free loopback port, for tests that need processes.

Used by the limit tests (limits must hold across workers) and the fault tests (a worker killed
under load). Bounded: every wait has a timeout and the server is always stopped.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI", "SERVER_NAME"):
        env.pop(name, None)
    env.update(
        {
            "APP_ENV": "development",  # CSRF on, limits on, shared (non-memory) limit storage
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"sqlite:///{home / 'live.db'}",
            "MEDIA_ROOT": str(home / "media"),
            "RATELIMIT_STORAGE_URI": f"sqlite:///{home / 'ratelimits.sqlite'}",
            "SESSION_COOKIE_SECURE": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def flask(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class Server:
    def __init__(self, process: subprocess.Popen, port: int, log: Path, access: Path) -> None:
        self.process, self.port, self.log, self.access = process, port, log, access

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> set[int]:
        """Pids of the live workers (children of the gunicorn master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return {int(pid) for pid in children.read_text().split()}
        except OSError:
            return set()

    def served_by(self) -> list[int]:
        """The worker pid of every request in the access log, in order."""
        if not self.access.exists():
            return []
        return [int(line.split()[0]) for line in self.access.read_text().splitlines() if line]


def wait_healthy(base: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text(errors='replace')}")
        try:
            status, _headers, _body = request(base, "GET", "/healthz", timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no answer from {base}/healthz within {timeout:.0f} s")


@contextmanager
def gunicorn(
    env: dict[str, str], home: Path, workers: int = 3, threads: int = 1
) -> Iterator[Server]:
    port = free_port()
    log, access = home / "server.log", home / "access.log"
    binary = Path(sys.executable).parent / "gunicorn"
    command = [str(binary)] if binary.exists() else [sys.executable, "-m", "gunicorn"]
    command += ["wsgi:create_app()", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    command += ["--threads", str(threads), "--graceful-timeout", "5", "--timeout", "30"]
    command += ["--access-logfile", str(access), "--access-logformat", "%(p)s %(s)s %(m)s %(U)s"]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        server = Server(process, port, log, access)
        wait_healthy(server.base, process, log)
        deadline = time.monotonic() + 30
        while len(server.worker_pids()) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def request(
    base: str,
    method: str,
    path: str,
    *,
    form: dict[str, str] | None = None,
    cookie: str = "",
    source: str = "127.0.0.1",
    timeout: float = 20,
) -> tuple[int, dict[str, str], str]:
    """One request on a new connection (so any worker may take it), from a loopback `source`."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=timeout, source_address=(source, 0)
    )
    headers = {"Connection": "close"}
    body = None
    if cookie:
        headers["Cookie"] = cookie
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text
    finally:
        connection.close()


def form_session(base: str, path: str, source: str = "127.0.0.1") -> tuple[str, str]:
    """(cookie, csrf_token) from a GET of a page with a form: real CSRF, as a browser does."""
    status, headers, html = request(base, "GET", path, source=source)
    assert status == 200, (status, html[:300])
    cookie = headers.get("set-cookie", "").split(";", 1)[0]
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no csrf_token on " + path
    return cookie, match.group(1)
