"""Where a warm scan's time goes: `GET /s/<code>` run in-process (Flask's test client, one
thread, no gunicorn, no load generator) against a prepared database, under cProfile.

    DATABASE_URL=postgresql+psycopg://…/db python -m bench.profile_scan [scans] [--old-path]

`--compare` interleaves the two paths scan by scan and prints their medians instead.
`--old-path` forces the session's three statements (BEGIN, SELECT, UPDATE, INSERT, COMMIT) on
PostgreSQL, to compare with the one-statement scan in the same process. Prints the mean time a
scan took, its share by layer (waiting for PostgreSQL, the driver, SQLAlchemy, page assembly,
Flask/Werkzeug) and the top functions by own time.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import random
import secrets
import sys
import time
from collections import defaultdict

LAYERS = (  # first match of a function's file wins
    ("waiting for PostgreSQL (socket)", ("psycopg/waiting", "selectors", "select.")),
    ("psycopg (driver)", ("psycopg/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("Jinja and page assembly", ("jinja2/", "markupsafe", "scan_page", "templates")),
    ("Flask, Werkzeug, Babel", ("flask", "werkzeug/", "babel/")),
    ("the app's own code", ("/core/", "/traceability/", "/cooperatives/", "/accounts/")),
)


def _layer(filename: str) -> str:
    for name, marks in LAYERS:
        if any(mark in filename for mark in marks):
            return name
    return "other (stdlib, builtins)"


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    scans = int(args[0]) if args else 1000
    os.environ.setdefault("APP_ENV", "production")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    os.environ["RATELIMIT_ENABLED"] = "false"
    os.environ.setdefault("RATELIMIT_STORAGE_URI", "sqlite:////tmp/choque-profile-limits.sqlite")
    from sqlalchemy import text

    from core.db import db
    from traceability.stamps import scan_counting
    from wsgi import create_app

    app = create_app()
    if "--old-path" in sys.argv:
        scan_counting.applies = lambda: False  # the session's path, as before
    with app.app_context():
        codes = db.session.scalars(
            text(
                "SELECT s.code FROM stamp s JOIN batch b ON b.id = s.batch_id "
                "WHERE s.state = 'active' AND b.status = 'active' ORDER BY random() LIMIT 5000"
            )
        ).all()
        db.session.remove()
    client = app.test_client()
    headers = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/120 Mobile"}
    for code in codes[:300]:  # warm: every lot part built, statements prepared
        client.get(f"/s/{code}", headers=headers)
    chosen = [random.choice(codes) for _ in range(scans)]
    if "--compare" in sys.argv:
        return compare(client, headers, chosen, scan_counting)
    started = time.perf_counter()
    for code in chosen:  # timed without the profiler first (it slows Python, not PostgreSQL)
        client.get(f"/s/{code}", headers=headers)
    plain = time.perf_counter() - started
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for code in chosen:
        response = client.get(f"/s/{code}", headers=headers)
        assert response.status_code == 200
    profiler.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    total = sum(entry[2] for entry in stats.stats.values())  # own time of every function
    layers: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), entry in stats.stats.items():
        layers[_layer(filename)] += entry[2]
    path = "session (old)" if "--old-path" in sys.argv else "one statement"
    print(
        f"{scans} warm scans in-process ({path}): {plain / scans * 1000:.2f} ms each "
        f"({elapsed / scans * 1000:.2f} ms under cProfile)"
    )
    for name, seconds in sorted(layers.items(), key=lambda item: -item[1]):
        print(f"  {seconds / total:6.1%}  {name}")
    stats.sort_stats("tottime").print_stats(15)
    return 0


def compare(client, headers, chosen, scan_counting) -> int:
    """The two paths interleaved scan by scan in one process (the drift of a shared machine
    hits both alike): median and mean time of a scan each way."""
    one_statement = scan_counting.applies
    times: dict[str, list[float]] = {"one statement": [], "session (old)": []}
    for index, code in enumerate(chosen):
        for name in sorted(times, key=lambda n: (n == "one statement") ^ (index % 2 == 0)):
            scan_counting.applies = one_statement if name == "one statement" else lambda: False
            started = time.perf_counter()
            assert client.get(f"/s/{code}", headers=headers).status_code == 200
            times[name].append(time.perf_counter() - started)
    scan_counting.applies = one_statement
    for name, values in times.items():
        values.sort()
        print(
            f"{name:>14}: median {values[len(values) // 2] * 1000:.2f} ms, "
            f"mean {sum(values) / len(values) * 1000:.2f} ms, "
            f"p90 {values[int(len(values) * 0.9)] * 1000:.2f} ms ({len(values)} scans)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
