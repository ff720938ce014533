"""Against a real streaming standby: with its replay paused, a certificate revoked and a product
renamed on the primary never show their old facts on the public pages, though the standby still
holds them (a control reads it ignoring the rule and sees them); once replay resumes the standby
serves the pages again; a standby that stops gives way to the primary.

The pair is started here: `initdb` of a private primary on a free loopback port (replication
allowed from 127.0.0.1), `pg_basebackup -R` of it, the standby started with `hot_standby`. Not
from the shared server at 127.0.0.1:5432: its pg_hba.conf has no `replication` entry, and tests
do not change a shared server's configuration. Needs the PostgreSQL server binaries (initdb,
pg_ctl, pg_basebackup); as root they run as the `postgres` user through runuser.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from core import pagecache
from core import replica as replica_module
from core.db import db
from core.replica import lsn_to_int
from tests.core.replica_helpers import (
    STARS,
    arrange,
    dispose,
    html,
    replica_app,
    revoke_and_rename,
    served_by,
)
from tests.live import free_port

pytestmark = pytest.mark.postgres_only
TOOLS = ("initdb", "pg_ctl", "pg_basebackup")


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    candidates = [Path(found).parent] if found else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for directory in candidates:
        if all((directory / tool).exists() for tool in TOOLS):
            return directory
    return None


def _runner() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no `postgres` user to run a standby as")
    if shutil.which("runuser") is None:
        pytest.skip("running as root and runuser is missing (needed to run PostgreSQL)")
    return ["runuser", "-u", "postgres", "--"]


class Pair:
    def __init__(self, home: Path, bindir: Path, runner: list[str]) -> None:
        self.home, self.bindir, self.runner = home, bindir, runner
        self.ports = {"primary": free_port(), "standby": free_port()}

    def run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.runner, str(self.bindir / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, name: str, *settings: str) -> None:
        options = f"-p {self.ports[name]} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += "".join(f" -c {setting}" for setting in settings)
        data, log = str(self.home / name), str(self.home / f"{name}.log")
        self.run("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "-t", "60", "start")

    def stop(self, name: str) -> None:
        if (self.home / name / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.home / name), "-m", "immediate", "-w", "stop")

    def url(self, name: str, database: str = "choque") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.ports[name]}/{database}"

    def connect(self, name: str, database: str = "choque") -> psycopg.Connection:
        return psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.ports[name]}/{database}", autocommit=True
        )


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found")
    runner = _runner()
    home = Path(tempfile.mkdtemp(prefix="choque-standby-"))
    if runner:
        shutil.chown(home, "postgres")
    pair = Pair(home, bindir, runner)
    try:
        pair.run(
            "initdb",
            "-D",
            str(home / "primary"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        with open(home / "primary" / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        pair.start("primary")
        with pair.connect("primary", "postgres") as conn:
            conn.execute("CREATE DATABASE choque")
        port = str(pair.ports["primary"])
        standby = str(home / "standby")
        pair.run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            port,
            "-U",
            "postgres",
            "-D",
            standby,
            "-R",
            "-c",
            "fast",
        )
        pair.start("standby", "hot_standby=on")
        yield pair
    finally:
        for name in ("standby", "primary"):
            with contextlib.suppress(subprocess.SubprocessError):
                pair.stop(name)
        shutil.rmtree(home, ignore_errors=True)


def _replayed(pair: Pair) -> int:
    with pair.connect("standby") as conn:
        return lsn_to_int(conn.execute("SELECT pg_last_wal_replay_lsn()::text").fetchone()[0])


def wait_for_replay(pair: Pair, position: int | None = None, timeout: float = 30) -> None:
    """Until the standby has replayed `position` (default: all the primary has inserted)."""
    if position is None:
        with pair.connect("primary") as conn:
            found = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]
        position = lsn_to_int(found)
    deadline = time.monotonic() + timeout
    while _replayed(pair) < position:
        assert time.monotonic() < deadline, "the standby did not catch up"
        with pair.connect("primary") as conn:  # a WAL record, in case the position ends a page
            conn.execute("SELECT pg_logical_emit_message(false, 'choque-test', 'tick')")
        time.sleep(0.1)


def _standby_facts(pair: Pair, product_id: int) -> tuple[str, str]:
    with pair.connect("standby") as conn:
        return conn.execute(
            "SELECT p.name_vi, c.status FROM product p JOIN ocop_certificate c"
            " ON c.product_id = p.id WHERE p.id = %s",
            (product_id,),
        ).fetchone()


def test_a_paused_standby_never_shows_old_facts_and_serves_once_caught_up(
    pair, tmp_path, monkeypatch
):
    app = replica_app(pair.url("primary"), pair.url("standby"), tmp_path)
    try:
        with app.app_context():
            db.create_all()
            from cooperatives.reference import load_ocop_categories

            load_ocop_categories()
            db.session.commit()
        ids = arrange(app)
        wait_for_replay(pair)
        for path in ids["pages"]:  # built from the standby, and kept in the page cache
            with served_by(app) as counts:
                assert STARS in html(app, path)
            assert counts["replica"] > 0 and counts["primary"] == 0, (path, counts)

        with pair.connect("standby") as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
            while conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != "paused":
                time.sleep(0.05)
        revoke_and_rename(app, ids["product"], "Cam Canh Hà Giang")
        assert _standby_facts(pair, ids["product"]) == ("Cam Cao Phong loại 1", "valid")

        for _visit in range(2):  # rebuilt from the primary, then served from the cache
            for path in ids["pages"]:
                with served_by(app) as counts:
                    page = html(app, path)
                assert STARS not in page and "Cam Canh Hà Giang" in page, path
                assert "Cam Cao Phong loại 1" not in page, path
                assert counts["replica"] == 0, (path, counts)
        with served_by(app) as counts:
            assert "Cam Canh Hà Giang" in html(app, "/search?q=cam")  # not cached, same rule
        assert counts["replica"] == 0

        # Control: a rule that trusted the paused standby would have shown the old facts.
        watermark = replica_module.replica(app).watermark
        with monkeypatch.context() as patch:
            patch.setattr(watermark, "required", lambda: 0)
            pagecache.store(app).clear()
            stale = html(app, ids["pages"][0])
        assert STARS in stale and "Cam Cao Phong loại 1" in stale
        pagecache.store(app).clear()

        with pair.connect("standby") as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
        wait_for_replay(pair, watermark.required())
        for path in ids["pages"]:
            with served_by(app) as counts:
                page = html(app, path)
            assert STARS not in page and "Cam Canh Hà Giang" in page, path
            assert counts["replica"] > 0 and counts["primary"] == 0, (path, counts)

        pair.stop("standby")  # the standby goes away: the primary answers, no 500
        pagecache.store(app).clear()
        for path in (*ids["pages"], "/search?q=cam"):
            assert "Cam Canh Hà Giang" in html(app, path), path
    finally:
        dispose(app)
