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


def main() -> int:
    ci = os.environ.get("CI", "").lower() == "true"
    status = pytest("--db=sqlite")
    if postgres_reachable():
        status |= pytest("--db=postgresql", "--ignore=tests/e2e")
    elif ci:
        print("CI: PostgreSQL is unreachable; its tests must run in CI.", file=sys.stderr)
        status |= 1
    else:
        print(
            "\nSKIPPED: the PostgreSQL pass (no server at "
            f"{PG_URL}). Set TEST_DATABASE_URL to run it.",
            flush=True,
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
