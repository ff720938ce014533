"""Flash sale paid by card, and a webhook storm (PostgreSQL, gunicorn, localstripe).

1. The flash sale of bench_flash_sale.py (BENCH_BUYERS, default 240, for BENCH_UNITS, default
   100) where every buyer pays by card on localstripe: checkout with "card", the card page,
   a Stripe.js-style token from localstripe, then POST /orders/<ref>/pay (the pay step, timed);
   one buyer in four double-clicks "Pay" (two requests at once). Figures: orders/s, p50/p99 of
   the pay step, units oversold, double charges (orders with more than one paid attempt or more
   charged than their total), orders paid without a succeeded PaymentIntent at localstripe (each
   paid attempt's PaymentIntent is retrieved), PaymentIntents created per paid order, and
   `flask payments verify`.
2. A webhook storm: BENCH_STORM_EVENTS (default 1,000) signed Stripe events for one set of
   orders, delivered once in order; the same events for an identical second set delivered twice,
   shuffled, by 32 concurrent senders. Figures: events/s both ways, p99, and whether the second
   set ends in exactly the state of the first.

Baseline: GET /_bench/trivial p99 in the same gunicorn (ratio = pay-step p99 ÷ trivial p99).

    python -m bench.bench_card_sale
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.bench_flash_sale import CSRF, SETUP, Buyer, _p, _trivial_p99
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
from tests import localstripe as ls
from tests.live import free_port

NAME = "card_sale"
BASELINE = "GET /_bench/trivial (trivial Flask route) p99 in the same gunicorn run"
BUYERS = max(env_int("BENCH_BUYERS", 240), 1)
UNITS = env_int("BENCH_UNITS", 100)
STORM_EVENTS = env_int("BENCH_STORM_EVENTS", 1000)
RACE_SECONDS = 240


def _pay(buyer: Buyer, path: str, token: str, csrf: str, key: str) -> tuple[int, str, float]:
    started = time.perf_counter()
    status, location, _ = buyer.request(
        "POST", path, {"csrf_token": csrf, "k": key, "token": token}
    )
    return status, location, time.perf_counter() - started


def _buy(base: str, stripe: ls.LocalStripe, index: int, barrier, out: list, lock) -> None:
    buyer = Buyer(base, index)
    outcome: dict[str, Any] = {"result": "error"}
    try:
        _s, _l, page = buyer.request("GET", "/p/cam-flash")
        token = CSRF.search(page).group(1)
        variant_id = page.split('name="variant_id" value="')[1].split('"')[0]
        barrier.wait(timeout=120)
        buyer.request(
            "POST", "/cart/add", {"csrf_token": token, "variant_id": variant_id, "quantity": "1"}
        )
        status, _l, page = buyer.request("GET", "/checkout")
        if status != 200:
            outcome["result"] = "out_of_stock_at_reservation"
            return
        form = {
            "csrf_token": CSRF.search(page).group(1),
            "name": f"Người mua {index}",
            "phone": f"09{index:08d}"[:10],
            "province_code": "1",
            "ward_code": "4",
            "street": "12 Hàng Bài",
            "payment_method": "card",
        }
        status, location, _ = buyer.request("POST", "/checkout", form)
        if status != 303 or "/pay?k=" not in location:
            outcome["result"] = "refused"
            return
        parts = urlsplit(location)
        path, key = parts.path, parts.query.removeprefix("k=")
        _s, _l, page = buyer.request("GET", f"{path}?k={key}")
        csrf = CSRF.search(page).group(1)
        card_token = stripe.card_token(ls.CARD_OK)  # what Stripe.js does in the browser
        if index % 4 == 0:  # a double click: a second request at once, same session
            twin = Buyer(base, index)
            twin.cookies = dict(buyer.cookies)
            second = threading.Thread(
                target=lambda: outcome.setdefault("twin", _pay(twin, path, card_token, csrf, key))
            )
            second.start()
        status, location, seconds = _pay(buyer, path, card_token, csrf, key)
        if index % 4 == 0:
            second.join(60)
        outcome["pay_seconds"] = seconds
        answers = [(status, location), outcome.get("twin", (0, "/pay"))[:2]]
        paid = any(code == 303 and "/pay" not in where for code, where in answers)
        outcome["result"] = "paid" if paid else "unpaid"
    except Exception as exc:  # noqa: BLE001  (a buyer's failure is counted, not fatal)
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        buyer.conn.close()
        with lock:
            out.append(outcome)


PAID_INTENTS = """
import json
from wsgi import create_app
from core.db import db
from shop.payments.models import Payment
from shop.payments.gateway import retrieve_intent
from shop.payments.verify import first_disagreement
app = create_app()
with app.app_context():
    rows = db.session.execute(db.select(Payment.provider_reference, Payment.amount_vnd)
        .where(Payment.method == "card", Payment.status == "paid")).all()
    bad = 0
    for ref, amount in rows:
        intent = retrieve_intent(ref) if ref else None
        if not intent or intent["status"] != "succeeded" or intent["amount"] != amount:
            bad += 1
    print(json.dumps({"paid_without_succeeded_intent": bad, "verify": first_disagreement()}))
"""


def _sql(db: Database, query: str) -> int:
    return int(sql_scalar(db, query) or 0)


def card_sale(db: Database, stripe: ls.LocalStripe) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="choque-media-") as media:
        env = {
            **app_env(db, media),
            **stripe.config(),
            "SESSION_COOKIE_SECURE": "false",
            "RATELIMIT_STORAGE_URI": f"sqlite:///{media}/limits.sqlite",
            # off: a cached product page would carry another visitor's CSRF token
            "PAGE_CACHE": "off",
        }
        schema = build_schema(env)
        subprocess.run(
            [sys.executable, "-c", SETUP % UNITS],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        with gunicorn(env) as base:
            stripe.register_webhook(f"{base}/payments/stripe/webhook")
            trivial_p99 = _trivial_p99(base)
            barrier, lock, out = threading.Barrier(BUYERS), threading.Lock(), []
            threads = [
                threading.Thread(
                    target=_buy, args=(base, stripe, i, barrier, out, lock), daemon=True
                )
                for i in range(BUYERS)
            ]
            started = time.perf_counter()
            for t in threads:
                t.start()
            deadline = time.monotonic() + RACE_SECONDS
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))
            race_seconds = time.perf_counter() - started
            time.sleep(2)  # localstripe's webhooks (sent 1 s after each event) land
        checked = json.loads(
            subprocess.run(
                [sys.executable, "-c", PAID_INTENTS],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
    results = [o["result"] for o in out]
    pay_times = [o["pay_seconds"] for o in out if "pay_seconds" in o]
    paid_orders = _sql(
        db,
        "SELECT count(DISTINCT order_id) FROM shop_payment "
        "WHERE method = 'card' AND status = 'paid'",
    )
    figures = {
        "database": database_version(db),
        "schema": schema,
        "workers": workers(),
        "buyers": BUYERS,
        "units": UNITS,
        "finished_buyers": len(out),
        "paid": results.count("paid"),
        "unpaid": results.count("unpaid"),
        "out_of_stock_at_reservation": results.count("out_of_stock_at_reservation"),
        "refused_at_order": results.count("refused"),
        "errors": results.count("error"),
        "error_samples": [o["error"] for o in out if "error" in o][:5],
        "race_seconds": round(race_seconds, 2),
        "orders_per_second": round(results.count("paid") / race_seconds, 1),
        "pay_p50_ms": round(_p(pay_times, 50) * 1000, 1),
        "pay_p99_ms": round(_p(pay_times, 99) * 1000, 1),
        "trivial_p99_ms": round(trivial_p99 * 1000, 2),
        "pay_p99_ratio": round(_p(pay_times, 99) / trivial_p99, 1) if trivial_p99 else 0,
        "units_oversold": max(
            0, _sql(db, "SELECT coalesce(sum(quantity), 0) FROM shop_order_line") - UNITS
        ),
        "double_charges": _sql(
            db,
            "SELECT count(*) FROM (SELECT order_id FROM shop_payment "
            "WHERE status = 'paid' GROUP BY order_id HAVING count(*) > 1)"
            " d",
        )
        + _sql(
            db,
            "SELECT count(*) FROM (SELECT l.order_id FROM "
            "shop_ledger_entry l JOIN shop_order o ON o.id = l.order_id "
            "WHERE l.kind = 'charge' GROUP BY l.order_id, o.total_vnd "
            "HAVING sum(l.amount_vnd) > o.total_vnd) x",
        ),
        "paid_orders": paid_orders,
        "payment_intents_created": _sql(
            db, "SELECT count(*) FROM shop_payment WHERE provider_reference IS NOT NULL"
        ),
        "paid_without_succeeded_intent": checked["paid_without_succeeded_intent"],
        "ledger_verify": checked["verify"] or "agrees",
    }
    for key in (
        "paid",
        "orders_per_second",
        "pay_p99_ms",
        "units_oversold",
        "double_charges",
        "paid_without_succeeded_intent",
        "payment_intents_created",
        "ledger_verify",
    ):
        log(f"  {key}: {figures[key]}")
    return figures


STORM_SETUP = """
import json, sys
from wsgi import create_app
from core.db import db
app = create_app()
with app.app_context():
    from tests.shop.helpers import stocked_product
    from tests.shop.payments import storm
    _p, _pr, variant, _b = stocked_product(units=%(units)d, price=70000, lot_quantity="1000000")
    db.session.commit()
    n = %(orders)d
    calm = storm.make_orders("calm", n, variant.id)
    wild = storm.make_orders("storm", n, variant.id)
    out = {"calm": calm, "storm": wild, "calm_events": storm.events("calm", calm, %(events)d),
           "storm_events": storm.events("storm", wild, %(events)d)}
    json.dump(out, open(sys.argv[1], "w"))
"""
STORM_CHECK = """
import json, sys
from wsgi import create_app
from tests.shop.payments import storm
from shop.payments.verify import first_disagreement
app = create_app()
with app.app_context():
    plan = json.load(open(sys.argv[1]))
    print(json.dumps({"equal": storm.snapshot(plan["storm"]) == storm.snapshot(plan["calm"]),
                      "verify": first_disagreement()}))
"""


def _send(base: str, event: dict) -> tuple[int, float]:
    body, signature = ls.signed(event)
    request = urllib.request.Request(
        f"{base}/payments/stripe/webhook",
        data=body,
        method="POST",
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


def webhook_storm(db: Database, stripe: ls.LocalStripe) -> dict[str, Any]:
    orders = max(STORM_EVENTS * 2 // 5, 5)  # ≈ 0.2 failures + 0.8 successes + 0.3 refunds each
    with tempfile.TemporaryDirectory(prefix="choque-storm-") as home:
        env = {
            **app_env(db, home),
            **stripe.config(),
            "RATELIMIT_STORAGE_URI": f"sqlite:///{home}/limits.sqlite",
        }
        build_schema(env)
        plan_file = f"{home}/plan.json"
        setup = STORM_SETUP % {"units": orders * 2 + 10, "orders": orders, "events": STORM_EVENTS}
        subprocess.run(
            [sys.executable, "-c", setup, plan_file],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        with open(plan_file) as plan_text:
            plan = json.load(plan_text)
        with gunicorn(env) as base:
            started = time.perf_counter()
            calm = [_send(base, e) for e in plan["calm_events"]]
            calm_seconds = time.perf_counter() - started
            deliveries = plan["storm_events"] * 2
            random.Random(2026).shuffle(deliveries)
            results: list[tuple[int, float]] = []
            lock = threading.Lock()

            def sender(batch):
                for event in batch:
                    answer = _send(base, event)
                    with lock:
                        results.append(answer)

            threads = [
                threading.Thread(target=sender, args=(deliveries[i::32],)) for i in range(32)
            ]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join(300)
            storm_seconds = time.perf_counter() - started
        check = json.loads(
            subprocess.run(
                [sys.executable, "-c", STORM_CHECK, plan_file],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
    figures = {
        "events": len(plan["storm_events"]),
        "deliveries": len(deliveries),
        "orders_per_set": orders,
        "senders": 32,
        "in_order_events_per_second": round(len(calm) / calm_seconds, 1),
        "storm_deliveries_per_second": round(len(results) / storm_seconds, 1),
        "storm_p99_ms": round(_p([s for _c, s in results], 99) * 1000, 1),
        "non_200_answers": sum(1 for c, _s in results if c != 200)
        + sum(1 for c, _s in calm if c != 200),
        "final_state_equals_in_order_delivery": check["equal"],
        "ledger_verify": check["verify"] or "agrees",
    }
    for key in (
        "storm_deliveries_per_second",
        "storm_p99_ms",
        "non_200_answers",
        "final_state_equals_in_order_delivery",
        "ledger_verify",
    ):
        log(f"  {key}: {figures[key]}")
    return figures


def main() -> int:
    facts = machine()
    log(f"{NAME}: {facts['cores']} cores, Python {facts['python']}, commit {facts['commit']}")
    if not postgres_reachable() or not ls.available():
        log("PostgreSQL unreachable or localstripe missing (make localstripe): skipped")
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="localstripe-") as home,
        ls.running(free_port(), Path(home) / "ls.log") as stripe,
    ):
        with database("postgresql") as db:
            sale = card_sale(db, stripe)
        stripe.flush()
        with database("postgresql") as db:
            storm = webhook_storm(db, stripe)
    write_results(NAME, BASELINE, {"postgresql": {"card_sale": sale, "webhook_storm": storm}})
    bad = (
        sale["units_oversold"]
        or sale["double_charges"]
        or sale["paid_without_succeeded_intent"]
        or sale["ledger_verify"] != "agrees"
        or not storm["final_state_equals_in_order_delivery"]
    )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
