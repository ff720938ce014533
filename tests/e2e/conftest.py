"""Browser tests: the real app under gunicorn with a database of its own, driven by Debian's
Chromium through Playwright (never `playwright install`).

One server per session: a fresh SQLite file in a temp dir, the schema (`flask db upgrade` when
revisions exist, else create_all), `flask seed-demo`, then gunicorn on a free loopback port with
CSRF on (real forms). Chromium missing: the tests skip with the reason, or FAIL when CI=true.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results"
PHONE = {"width": 360, "height": 640}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_PASSWORD = "choque-demo"
MANAGER_PHONE = "0912000001"  # Bà Lan, HTX Cam Cao Phong (seed-demo)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _build_schema(env: dict[str, str]) -> None:
    if any((ROOT / "migrations" / "versions").glob("*.py")):
        _run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], env)
        return
    code = (
        "from wsgi import create_app\nfrom core.db import db\n"
        "app = create_app()\nwith app.app_context():\n    db.create_all()\n"
    )
    _run([sys.executable, "-c", code], env)


def _wait_healthy(base: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no answer from {base}/healthz within {timeout:.0f} s")


@pytest.fixture(scope="session")
def live_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the server and of any `flask` command run against its database."""
    home = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI", "SERVER_NAME"):
        env.pop(name, None)
    env.update(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"sqlite:///{home / 'e2e.db'}",
            "MEDIA_ROOT": str(home / "media"),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "RATELIMIT_ENABLED": "false",  # limits have their own tests; signing in often here
            "SESSION_COOKIE_SECURE": "false",
            "PYTHONUNBUFFERED": "1",
            "E2E_PORT": str(port),
            "E2E_HOME": str(home),
        }
    )
    return env


@pytest.fixture(scope="session")
def live_server(live_env: dict[str, str]) -> Iterator[str]:
    """Base URL of the running app (demo data loaded)."""
    _build_schema(live_env)
    _run([sys.executable, "-m", "flask", "--app", "wsgi", "seed-demo"], live_env)
    port = live_env["E2E_PORT"]
    base = f"http://127.0.0.1:{port}"
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [str(gunicorn)] if gunicorn.exists() else [sys.executable, "-m", "gunicorn"]
    command += ["wsgi:create_app()", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    command += ["--threads", "4", "--log-level", "warning", "--graceful-timeout", "5"]
    log = Path(live_env["E2E_HOME"]) / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=live_env, stdout=out, stderr=out)
    try:
        _wait_healthy(base, process, log)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors = [x for x in log.read_text(errors="replace").splitlines() if "Traceback" in x]
        if errors:
            print(f"\nserver log ({log}) has tracebacks:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def flask_cli(live_env: dict[str, str], live_server: str):
    """Run `flask …` against the live server's database: flask_cli("stamps", "sample")."""

    def run(*args: str) -> str:
        return _run([sys.executable, "-m", "flask", "--app", "wsgi", *args], live_env)

    return run


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        reason = "Debian's Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI: {reason}; browser tests must run in CI", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _phone_page(browser, base: str):
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        base_url=base,
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_server: str):
    """A phone-sized page (360×640, Vietnamese) in a fresh context: no cookies carried over."""
    context, page = _phone_page(browser, live_server)
    yield page
    context.close()


@pytest.fixture
def consumer_page(browser, live_server: str):
    """A second phone, signed in as nobody: the consumer who scans."""
    context, page = _phone_page(browser, live_server)
    yield page
    context.close()


@pytest.fixture(scope="session")
def results_dir() -> Path:
    RESULTS.mkdir(exist_ok=True)
    return RESULTS


def sign_in(page, phone: str = MANAGER_PHONE, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the real form at /login (phone number and password)."""
    page.goto("/login")
    page.get_by_label("Số điện thoại hoặc e-mail").fill(phone)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_load_state()


@pytest.fixture(scope="session")
def live_db(live_env: dict[str, str], live_server: str):
    """Read the live server's SQLite database directly: live_db("SELECT …") -> rows."""
    import sqlite3

    path = live_env["DATABASE_URL"].removeprefix("sqlite:///")

    def query(sql: str, *params):
        with sqlite3.connect(path) as conn:
            return conn.execute(sql, params).fetchall()

    return query
