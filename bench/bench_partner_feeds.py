"""Partner feeds at scale: the full JSON feed (one request, limit=N), the Google XML feed and a
304 on an unchanged feed, against a raw dump of the same product columns to JSON in the same
run; time and Python heap peak (tracemalloc, a separate pass) of each.

    .venv/bin/python -m bench.bench_partner_feeds [--products 100000] [--db sqlite|postgresql|both]

In-process (Flask test client streaming the body chunk by chunk); its own database. Writes
bench/results/partner_feeds.json (per database: seconds, heap peaks and the ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--producers", type=int, default=1000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    from bench.harness import write_results

    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    figures = {kind: with_database(kind, args) for kind in kinds}
    write_results(
        "partner_feeds",
        "a raw dump of the same product and variant columns to JSON (same run, same database);"
        " the 304 against /healthz",
        figures,
        products=args.products,
    )
    return 0


def with_database(kind: str, args) -> dict:
    from sqlalchemy import create_engine, text

    tmp = tempfile.mkdtemp(prefix="partner-bench-")
    admin_url = os.environ.get(
        "BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"partner_bench_{uuid.uuid4().hex[:8]}"
    if kind == "sqlite":
        url = f"sqlite:///{tmp}/bench.sqlite"
    else:
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        return run(url, tmp, args)
    finally:
        if kind == "postgresql":
            engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()


def run(url: str, tmp: str, args) -> dict:  # noqa: PLR0915  (one linear script)
    from sqlalchemy import select

    from cooperatives.models import Producer, Product, Variant
    from core.db import db
    from wsgi import create_app

    app = create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-for-bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "MEDIA_ROOT": f"{tmp}/media",
            "PUBLIC_BASE_URL": "https://choque.test",
            "RATELIMIT_ENABLED": False,
        }
    )
    runner = app.test_cli_runner()
    with app.app_context():
        db.create_all()
        from cooperatives.reference import load_ocop_categories

        load_ocop_categories()
        db.session.commit()
    started = time.perf_counter()
    out = runner.invoke(
        args=["bench-data", "--producers", str(args.producers), "--products", str(args.products)]
    )
    print(out.output.strip(), f"({time.perf_counter() - started:.0f} s)", flush=True)
    with app.app_context():
        from partners import services
        from partners.models import PartnerOptIn

        partner, _key, plain = services.create_partner("Bench", "feeds:read")
        db.session.execute(
            PartnerOptIn.__table__.insert().from_select(
                ["producer_id", "partner_id", "created_at"],
                select(Producer.id, db.literal(partner.id), db.func.now()),
            )
        )
        db.session.commit()
        published = db.session.scalar(
            select(db.func.count()).select_from(Product).where(Product.status == "published")
        )
    headers = {"Authorization": f"Bearer {plain}"}
    client = app.test_client()

    def raw_dump() -> int:
        with app.app_context():
            size = 0
            rows = db.session.execute(
                select(
                    Product.id,
                    Product.slug,
                    Product.name_vi,
                    Product.description_vi,
                    Product.gtin,
                    Product.updated_at,
                    Variant.id,
                    Variant.sku,
                    Variant.label,
                    Variant.price_vnd,
                )
                .join(Variant, Variant.product_id == Product.id)
                .where(Product.status == "published")
                .order_by(Product.id)
                .execution_options(yield_per=1000)
            )
            for row in rows:
                size += len(json.dumps([str(v) for v in row], ensure_ascii=False))
            return size

    def fetch(path: str, **extra) -> tuple[int, int]:
        response = client.get(path, headers={**headers, **extra}, buffered=False)
        size = sum(len(chunk) for chunk in response.response)
        response.close()
        return response.status_code, size

    full = f"/api/v1/feeds/products?limit={args.products}"
    cases = {
        "raw dump (same columns → JSON)": raw_dump,
        "JSON feed, full": lambda: fetch(full),
        "Google XML feed": lambda: fetch("/api/v1/feeds/products.xml"),
    }
    results = {}
    for label, call in cases.items():
        started = time.perf_counter()
        outcome = call()
        seconds = time.perf_counter() - started
        tracemalloc.start()
        call()
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results[label] = (seconds, peak / 2**20, outcome)
        print(f"{label}: {seconds:.2f} s, heap peak {peak / 2**20:.1f} MB, {outcome}", flush=True)
    etag = client.get(full, headers=headers).headers["ETag"]
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        status, _size = fetch(full, **{"If-None-Match": etag})
        timings.append(time.perf_counter() - started)
        assert status == 304
    trivial = []
    for _ in range(20):
        started = time.perf_counter()
        client.get("/healthz")
        trivial.append(time.perf_counter() - started)
    median = sorted(timings)[10] * 1000
    base = sorted(trivial)[10] * 1000
    raw = results["raw dump (same columns → JSON)"][0]
    print(f"published products: {published:,}")
    print(f"JSON feed / raw dump: {results['JSON feed, full'][0] / raw:.2f}×")
    print(f"XML feed / raw dump: {results['Google XML feed'][0] / raw:.2f}×")
    print(f"304 median {median:.1f} ms vs /healthz {base:.1f} ms ({median / base:.1f}×)")
    json_feed, xml_feed, dump = (
        results["JSON feed, full"],
        results["Google XML feed"],
        results["raw dump (same columns → JSON)"],
    )
    return {
        "published_products": published,
        "raw_dump_seconds": round(dump[0], 2),
        "raw_dump_heap_peak_mb": round(dump[1], 1),
        "json_feed_seconds": round(json_feed[0], 2),
        "json_feed_heap_peak_mb": round(json_feed[1], 1),
        "json_feed_bytes": json_feed[2][1],
        "xml_feed_seconds": round(xml_feed[0], 2),
        "xml_feed_heap_peak_mb": round(xml_feed[1], 1),
        "json_vs_raw_dump_ratio": round(json_feed[0] / raw, 2),
        "xml_vs_raw_dump_ratio": round(xml_feed[0] / raw, 2),
        "not_modified_median_ms": round(median, 2),
        "healthz_median_ms": round(base, 2),
        "not_modified_vs_healthz_ratio": round(median / base, 2),
    }


if __name__ == "__main__":
    raise SystemExit(main())
