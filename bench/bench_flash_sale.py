"""Flash sale: BENCH_BUYERS (default 240) concurrent buyers race through the real HTTP stack
(gunicorn, PostgreSQL, CSRF on) for BENCH_UNITS (default 100) units of one pack size: product
page, add to cart, checkout (reservation), place the order with cash on delivery.

Figures: orders/s over the race, p50/p99 latency of the order step (POST /checkout) and of the
reservation step (GET /checkout), units oversold (must be 0), stock lots whose counts differ from
their movements (must be 0). Baseline: GET /_bench/trivial in the same server, p99, measured
before the race (ratio = checkout p99 ÷ trivial p99).

    python -m bench.bench_flash_sale   (BENCH_BUYERS, BENCH_UNITS, BENCH_WORKERS; PostgreSQL only)
"""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.cookies import SimpleCookie
from statistics import quantiles
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.app import TRIVIAL_PATH
from bench.harness import (
    ROOT,
    Database,
    app_env,
    build_schema,
    database,
    database_version,
    env_int,
    gunicorn,
    log,
    machine,
    postgres_reachable,
    sql_scalar,
    workers,
    write_results,
)

NAME = "flash_sale"
BASELINE = f"GET {TRIVIAL_PATH} (trivial Flask route) p99 in the same gunicorn run"
BUYERS = max(env_int("BENCH_BUYERS", 240), 1)
UNITS = env_int("BENCH_UNITS", 100)
RACE_SECONDS = 180  # every buyer gives up after this: the benchmark is bounded in time
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

SETUP = """
from datetime import date, timedelta
from wsgi import create_app
from core.db import db, unit_of_work
app = create_app()
with app.app_context(), unit_of_work():
    from cooperatives.models import Producer, Product, Variant
    from shop.inventory.receiving import receive_stock
    from traceability.lots.selling import record_lot_for_sale
    producer = Producer(
        slug="htx-flash", name="HTX Cam Flash", kind="htx", province_code=25, ward_code=5089
    )
    db.session.add(producer)
    db.session.flush()
    product = Product(
        producer_id=producer.id, slug="cam-flash", name_vi="Cam Cao Phong flash",
        status="published", search_text="cam cao phong flash",
    )
    db.session.add(product)
    db.session.flush()
    variant = Variant(
        product_id=product.id, producer_id=producer.id, label="thùng 5 kg", pack_size=5,
        unit="kg", price_vnd=250000, weight_grams=5200, sku="FLASH-5",
    )
    db.session.add(variant)
    db.session.flush()
    today = date.today()
    lot = record_lot_for_sale(
        producer.id, product.id, lot_code="FLASH-1", produced_on=today - timedelta(days=1),
        quantity=100000, unit="kg", best_before=today + timedelta(days=30),
    )
    receive_stock(producer.id, variant_id=variant.id, batch_id=lot, units=%d)
"""


class Buyer:
    """One shopper with her own connection and cookies (like a phone)."""

    def __init__(self, base: str, index: int) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.index = index

    def request(self, method: str, path: str, form: dict[str, Any] | None = None):
        headers = {"Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for key, morsel in cookie.items():
                self.cookies[key] = morsel.value
        return response.status, response.headers.get("Location", ""), text


def _buy(
    base: str, index: int, barrier: threading.Barrier, out: list, lock: threading.Lock
) -> None:
    buyer = Buyer(base, index)
    outcome: dict[str, Any] = {"result": "error"}
    try:
        status, _loc, page = buyer.request("GET", "/p/cam-flash")
        token = CSRF.search(page).group(1)
        variant_id = re.search(r'name="variant_id" value="(\d+)"', page).group(1)
        barrier.wait(timeout=120)
        status, _loc, _ = buyer.request(
            "POST", "/cart/add", {"csrf_token": token, "variant_id": variant_id, "quantity": "1"}
        )
        started = time.perf_counter()
        status, location, page = buyer.request("GET", "/checkout")
        outcome["reserve_seconds"] = time.perf_counter() - started
        if status != 200:
            outcome["result"] = "out_of_stock_at_reservation"
            return
        token = CSRF.search(page).group(1)
        ward = re.search(r'name="ward_code"', page)
        form = {
            "csrf_token": token,
            "name": f"Người mua {index}",
            "phone": f"09{index:08d}"[:10],
            "province_code": "1",
            "ward_code": "4",
            "street": "12 Hàng Bài",
            "payment_method": "cod",
        }
        _ = ward
        started = time.perf_counter()
        status, location, _ = buyer.request("POST", "/checkout", form)
        outcome["order_seconds"] = time.perf_counter() - started
        outcome["result"] = "ordered" if status == 303 and "/orders/" in location else "refused"
    except Exception as exc:  # noqa: BLE001  (a buyer's failure is counted, not fatal)
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        buyer.conn.close()
        with lock:
            out.append(outcome)


def _p(values: list[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[q - 1]


def _trivial_p99(base: str, count: int = 400) -> float:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("GET", TRIVIAL_PATH)
        conn.getresponse().read()
        times.append(time.perf_counter() - started)
    conn.close()
    return _p(times, 99)


def measure(db: Database) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="choque-media-") as media:
        env = app_env(db, media)
        env["SESSION_COOKIE_SECURE"] = "false"  # plain HTTP on loopback
        schema = build_schema(env)
        done = subprocess.run(
            [sys.executable, "-c", SETUP % UNITS], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        with gunicorn(env) as base:
            trivial_p99 = _trivial_p99(base)
            barrier = threading.Barrier(BUYERS)
            out: list[dict[str, Any]] = []
            lock = threading.Lock()
            threads = [
                threading.Thread(target=_buy, args=(base, i, barrier, out, lock), daemon=True)
                for i in range(BUYERS)
            ]
            started = time.perf_counter()
            for t in threads:
                t.start()
            deadline = time.monotonic() + RACE_SECONDS
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))
            race_seconds = time.perf_counter() - started
        sold = int(sql_scalar(db, "SELECT coalesce(sum(quantity), 0) FROM shop_order_line") or 0)
        on_hand = int(sql_scalar(db, "SELECT coalesce(sum(on_hand), 0) FROM shop_stock_lot") or 0)
        mismatched = int(
            sql_scalar(
                db,
                "SELECT count(*) FROM shop_stock_lot s LEFT JOIN (SELECT stock_lot_id, "
                "sum(on_hand_delta) AS h, sum(allocated_delta) AS a FROM shop_stock_movement "
                "GROUP BY stock_lot_id) m ON m.stock_lot_id = s.id "
                "WHERE coalesce(m.h, 0) <> s.on_hand OR coalesce(m.a, 0) <> s.allocated",
            )
        )
    results = [o["result"] for o in out]
    ordered = results.count("ordered")
    order_times = [o["order_seconds"] for o in out if "order_seconds" in o]
    reserve_times = [o["reserve_seconds"] for o in out if "reserve_seconds" in o]
    errors = [o["error"] for o in out if "error" in o][:5]
    figures = {
        "database": database_version(db),
        "schema": schema,
        "workers": workers(),
        "buyers": BUYERS,
        "units": UNITS,
        "finished_buyers": len(out),
        "orders": ordered,
        "out_of_stock_at_reservation": results.count("out_of_stock_at_reservation"),
        "refused_at_order": results.count("refused"),
        "errors": results.count("error"),
        "error_samples": errors,
        "race_seconds": round(race_seconds, 2),
        "orders_per_second": round(ordered / race_seconds, 1) if race_seconds else 0,
        "order_p50_ms": round(_p(order_times, 50) * 1000, 1),
        "order_p99_ms": round(_p(order_times, 99) * 1000, 1),
        "reservation_p99_ms": round(_p(reserve_times, 99) * 1000, 1),
        "trivial_p99_ms": round(trivial_p99 * 1000, 2),
        "order_p99_ratio": round(_p(order_times, 99) / trivial_p99, 1) if trivial_p99 else 0,
        "units_oversold": max(0, sold - UNITS),
        "units_sold": sold,
        "on_hand_after": on_hand,
        "movement_mismatches": mismatched,
    }
    for key in (
        "orders",
        "orders_per_second",
        "order_p99_ms",
        "units_oversold",
        "movement_mismatches",
    ):
        log(f"  {key}: {figures[key]}")
    return figures


def main() -> int:
    facts = machine()
    log(f"{NAME}: {facts['cores']} cores, Python {facts['python']}, commit {facts['commit']}")
    if not postgres_reachable():
        log("PostgreSQL is unreachable: the flash sale runs on PostgreSQL only; skipped")
        return 0
    with database("postgresql") as db:
        figures = {"postgresql": measure(db)}
    write_results(NAME, BASELINE, figures)
    return (
        1
        if figures["postgresql"]["units_oversold"] or figures["postgresql"]["movement_mismatches"]
        else 0
    )


if __name__ == "__main__":
    raise SystemExit(main())
