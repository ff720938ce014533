"""`make test`: the whole suite on SQLite, then again on PostgreSQL.

On a machine without PostgreSQL the second run is skipped and says so; with CI=true it fails.
Browser tests (tests/e2e) run once, in the SQLite pass: they start their own server and database.
"""

from __future__ import annotations

import os
import subprocess
import sys

PG_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=3):
            return True
    except Exception:
        return False


def pytest(*args: str) -> int:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, *sys.argv[1:]]
    print("$", " ".join(command), flush=True)
    return subprocess.call(command)


def summary(sqlite_status: int, postgres: str) -> str:
    """The last line of `make test`: one glance says what ran and what did not.

    `postgres` is "passed", "failed" or "skipped"; a skipped PostgreSQL pass is said loudly,
    since the row-lock and concurrency tests (postgres_only) then did not run at all."""
    sqlite = "passed" if sqlite_status == 0 else "FAILED"
    if postgres == "skipped":
        return (
            f"make test: SQLite pass {sqlite} · !!! POSTGRESQL PASS SKIPPED: no server at "
            f"{PG_URL}; its row-lock and concurrency tests DID NOT RUN !!!"
        )
    shown = "FAILED" if postgres == "failed" else postgres
    return f"make test: SQLite pass {sqlite} · PostgreSQL pass {shown}"


def main() -> int:
    ci = os.environ.get("CI", "").lower() == "true"
    status = pytest("--db=sqlite")
    sqlite_status = status
    if postgres_reachable():
        postgres_status = pytest("--db=postgresql", "--ignore=tests/e2e")
        status |= postgres_status
        postgres = "passed" if postgres_status == 0 else "failed"
    else:
        postgres = "skipped"
        if ci:
            print("CI: PostgreSQL is unreachable; its tests must run in CI.", file=sys.stderr)
            status |= 1
        else:
            print(
                "\nSKIPPED: the PostgreSQL pass (no server at "
                f"{PG_URL}). Set TEST_DATABASE_URL to run it.",
                flush=True,
            )
    print("\n" + summary(sqlite_status, postgres), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
