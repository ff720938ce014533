"""`flask backup` and `flask restore`: a consistent copy of the database, taken while it serves.

SQLite: the online backup API copies the whole file in one step from one read snapshot (WAL mode:
writers keep writing meanwhile), then the copy's `PRAGMA integrity_check` and
`foreign_key_check` must pass before it replaces nothing and is renamed into place.
PostgreSQL: `pg_dump --format=custom` (one repeatable-read snapshot), restored with
`pg_restore --clean --if-exists --single-transaction` (all or nothing).

After a restore run `flask trace verify` (the event hash chains) before serving again.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from core.db import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(click.ClickException):
    pass


def _database_url() -> str:
    return str(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(parsed.database)


def _libpq_url(url: str) -> str:
    """postgresql+psycopg://… -> postgresql://… (what pg_dump and pg_restore understand)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def check_sqlite_file(path: Path) -> None:
    """BackupError unless `path` is a SQLite database whose integrity and foreign keys hold."""
    with path.open("rb") as handle:
        if handle.read(16) != SQLITE_MAGIC:
            raise BackupError(f"{path} is not a SQLite database")
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchall()
        if result != [("ok",)]:
            raise BackupError(f"{path}: integrity check failed: {result[:5]}")
        broken = connection.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise BackupError(f"{path}: {len(broken)} rows break a foreign key, e.g. {broken[:3]}")
    finally:
        connection.close()


def backup_sqlite(source: Path, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # pages=-1: everything in one step, from one consistent snapshot
    finally:
        dst.close()
        src.close()
    check_sqlite_file(partial)
    os.replace(partial, target)  # readers of `target` never see a half-written file


def restore_sqlite(backup: Path, target: Path) -> None:
    check_sqlite_file(backup)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)  # replaces the whole content under one write lock
    finally:
        dst.close()
        src.close()
    check_sqlite_file(target)


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (apt-get install postgresql-client)")
    # fixed programs (pg_dump, pg_restore); arguments come from our own configuration
    done = subprocess.run(command, capture_output=True, text=True, timeout=6 * 3600)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def backup_postgres(url: str, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={partial}", _libpq_url(url)])
    os.replace(partial, target)


def restore_postgres(backup: Path, url: str) -> None:
    with backup.open("rb") as handle:
        if handle.read(5) != PG_MAGIC:
            raise BackupError(f"{backup} is not a pg_dump custom-format file")
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={_libpq_url(url)}",
            str(backup),
        ]
    )


def default_target(instance_path: str, sqlite: bool) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "sqlite" if sqlite else "dump"
    return Path(instance_path) / "backups" / f"choque-{stamp}.{suffix}"


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups in `folder` (by name: the names sort by time)."""
    backups = sorted(p for p in folder.glob("choque-*") if not p.name.endswith(".partial"))
    old = backups[:-keep] if keep > 0 else []
    for path in old:
        path.unlink()
    return old


@click.command("backup")
@click.argument("target", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--keep", default=14, show_default=True, help="backups kept in the default folder")
@with_appcontext
def backup_command(target: Path | None, keep: int) -> None:
    """Back the database up while it serves (SQLite online backup API, or pg_dump)."""
    url = _database_url()
    source = _sqlite_path(url)
    default = target is None
    if target is None:
        target = default_target(current_app.instance_path, source is not None)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        backup_sqlite(source, target)
    else:
        backup_postgres(url, target)
    click.echo(f"backup written: {target} ({target.stat().st_size} bytes)")
    if default:
        for path in prune(target.parent, keep):
            click.echo(f"old backup removed: {path}")


@click.command("restore")
@click.argument("backup", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="replace the current database without asking")
@with_appcontext
def restore_command(backup: Path, yes: bool) -> None:
    """Replace the database with a backup; then run `flask trace verify`."""
    url = _database_url()
    target = _sqlite_path(url)
    where = str(target) if target is not None else make_url(url).render_as_string()
    if not yes:
        click.confirm(f"Replace every row of {where} with {backup}?", abort=True)
    db.session.remove()
    db.engine.dispose()  # no pooled connection keeps the old content
    if target is not None:
        restore_sqlite(backup, target)
    else:
        restore_postgres(backup, url)
    click.echo(f"restored {backup} into {where}; now run: flask trace verify")


def init_app(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
