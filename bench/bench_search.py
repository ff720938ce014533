"""Search at catalogue scale: p50/p95 of typical shopper queries (no accents, prefixes, filters,
one typo) through shop.search.services.search, against a plain indexed lookup of a product id by
slug in the same process and run (the baseline). Both databases.

    python -m bench.bench_search    (BENCH_PRODUCTS, BENCH_PRODUCERS, BENCH_DATABASES,
                                     BENCH_REPEAT to change)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench.harness import (
    ROOT,
    Database,
    app_env,
    backends,
    build_schema,
    database,
    database_version,
    env_int,
    flask,
    log,
    machine,
    write_results,
)

NAME = "search"
BASELINE = "SELECT product.id WHERE slug = … (unique index) in the same process"
PRODUCERS = env_int("BENCH_PRODUCERS", 1_000)
PRODUCTS = env_int("BENCH_PRODUCTS", 100_000)
REPEAT = env_int("BENCH_REPEAT", 40)

QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    ("no accents", "mat ong bac ha", {}),
    ("one word", "cam", {}),
    ("prefix as typed", "che shan tu", {}),
    ("province words", "gao st25 soc trang", {}),
    ("filters", "ca phe", {"stars": 4, "in_stock": False, "price_max": 200000}),
    ("group page", "", {"group": "1"}),
    ("typo", "nuoc mam ca coom", {}),
]

TIMER = r"""
import json, random, sys, time
from statistics import quantiles
from sqlalchemy import select
from wsgi import create_app
from core.db import db
from cooperatives.models import Product
from shop.search.services import Filters, search
app = create_app()
repeat, queries = int(sys.argv[1]), json.loads(sys.argv[2])
def pct(values):
    cut = quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(cut[49] * 1000, 3), "p95_ms": round(cut[94] * 1000, 3)}
with app.app_context():
    slugs = list(db.session.scalars(select(Product.slug).order_by(Product.id).limit(5000)))
    rng = random.Random(7)
    out = {}
    for _ in range(5):  # warm caches
        for label, q, f in queries:
            search(q, Filters(**f))
        db.session.rollback()
    times = []
    for _ in range(repeat * len(queries)):
        slug = rng.choice(slugs)
        started = time.perf_counter()
        db.session.scalar(select(Product.id).where(Product.slug == slug))
        times.append(time.perf_counter() - started)
        db.session.rollback()
    out["slug_lookup"] = pct(times)
    for label, q, f in queries:
        times, hits = [], 0
        for _ in range(repeat):
            started = time.perf_counter()
            result = search(q, Filters(**f))
            times.append(time.perf_counter() - started)
            hits = len(result.product_ids)
            db.session.rollback()
        out[label] = {**pct(times), "results_on_page": hits, "typo_retry": result.typo}
print(json.dumps(out))
"""


def measure(db: Database) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="choque-media-") as media:
        env = app_env(db, media)
        schema = build_schema(env)
        started = time.perf_counter()
        output = flask(
            env, "bench-data", "--producers", str(PRODUCERS), "--products", str(PRODUCTS)
        )
        data_seconds = time.perf_counter() - started
        log("  " + "\n  ".join(x for x in output.splitlines() if ":" in x))
        done = subprocess.run(
            [sys.executable, "-c", TIMER, str(REPEAT), json.dumps(QUERIES)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        timings = json.loads(done.stdout.strip().splitlines()[-1])
    slug = timings.pop("slug_lookup")
    figures: dict[str, Any] = {
        "database": database_version(db),
        "schema": schema,
        "catalog": {"producers": PRODUCERS, "products": PRODUCTS},
        "bench_data_seconds": round(data_seconds, 1),
        "slug_lookup": slug,
        "queries": timings,
    }
    worst = max(t["p95_ms"] for t in timings.values())
    figures["worst_p95_ratio"] = round(worst / slug["p95_ms"], 1) if slug["p95_ms"] else 0
    for label, t in timings.items():
        t["p95_ratio"] = round(t["p95_ms"] / slug["p95_ms"], 1) if slug["p95_ms"] else 0
        log(f"  {label}: p50 {t['p50_ms']} ms, p95 {t['p95_ms']} ms ({t['p95_ratio']}× slug)")
    log(f"  slug lookup: p50 {slug['p50_ms']} ms, p95 {slug['p95_ms']} ms")
    return figures


def main() -> int:
    facts = machine()
    log(f"{NAME}: {facts['cores']} cores, Python {facts['python']}, commit {facts['commit']}")
    figures: dict[str, Any] = {}
    for kind in backends():
        log(f"[{kind}] catalogue of {PRODUCERS:,} producers and {PRODUCTS:,} products")
        with database(kind) as db:
            figures[kind] = measure(db)
    write_results(NAME, BASELINE, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
