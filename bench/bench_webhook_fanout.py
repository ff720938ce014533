"""Webhook fan-out: N product changes to P partners (N × P deliveries) through the outbox,
sent by worker processes to a local HTTP receiver; one worker is killed (SIGKILL) mid-run and
the delivery log must still show every delivery delivered (its leased rows are taken again
when the lease expires). Baseline: plain POSTs of the same bodies to the same receiver with
the same concurrency (no database, no signing).

    .venv/bin/python -m bench.bench_webhook_fanout [--changes 10000] [--partners 5] [--db both]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ADMIN_PG = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WORKER = """
import sys, time
sys.path.insert(0, {root!r})
from wsgi import create_app
from partners.webhooks.delivery import deliver_batch
app = create_app({overrides!r})
with app.app_context():
    while True:
        if not deliver_batch():
            time.sleep(0.2)
"""


class Receiver:
    def __init__(self) -> None:
        self.ids: list[str] = []
        ids = self.ids

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ids.append(self.headers.get("webhook-id", ""))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def overrides(url: str, tmp: str) -> dict:
    return {
        "APP_ENV": "testing",
        "SECRET_KEY": "bench-secret-key-that-is-long-enough-for-bench",
        "SQLALCHEMY_DATABASE_URI": url,
        "MEDIA_ROOT": f"{tmp}/media",
        "PUBLIC_BASE_URL": "https://choque.test",
        "RATELIMIT_ENABLED": False,
    }


def baseline(url: str, count: int = 2000) -> float:
    body = json.dumps({"type": "product.updated", "data": {"id": 1, "title": "x" * 600}}).encode()

    def post(_n: int) -> None:
        request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310
        urllib.request.urlopen(request, timeout=10).read()  # noqa: S310

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(post, range(count)))
    return count / (time.perf_counter() - started)


def prepare(app, args, receiver: Receiver) -> list[int]:
    from sqlalchemy import select

    from cooperatives.models import Producer, Product
    from core.db import db
    from partners import services
    from partners.models import PartnerOptIn
    from partners.webhooks import services as webhooks

    with app.app_context():
        for n in range(args.partners):
            partner, _key, _plain = services.create_partner(f"Bench {n}", "feeds:read")
            webhooks.add_endpoint(partner.id, receiver.url)
            db.session.execute(
                PartnerOptIn.__table__.insert().from_select(
                    ["producer_id", "partner_id", "created_at"],
                    select(Producer.id, db.literal(partner.id), db.func.now()),
                )
            )
        db.session.commit()
        query = select(Product.id).where(Product.status == "published").order_by(Product.id)
        return list(db.session.scalars(query.limit(args.changes)))


def change(app, ids: list[int]) -> float:
    """Rename every product, 500 to a unit of work; seconds spent (outbox rows included)."""
    from sqlalchemy import select

    from cooperatives.models import Product
    from core.db import db, unit_of_work

    started = time.perf_counter()
    with app.app_context():
        for i in range(0, len(ids), 500):
            with unit_of_work():  # ORM edits: the flush announces them as the app's edits do
                for product in db.session.scalars(
                    select(Product).where(Product.id.in_(ids[i : i + 500]))
                ):
                    product.name_vi = product.name_vi + " "
            db.session.expunge_all()
    return time.perf_counter() - started


def counts(app) -> dict[str, int]:
    from sqlalchemy import func, select

    from core.db import db
    from partners.webhooks.models import WebhookDelivery

    with app.app_context():
        rows = db.session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        ).all()
        db.session.rollback()
    return {status: n for status, n in rows}


def start_worker(url: str, tmp: str) -> subprocess.Popen:
    code = WORKER.format(root=str(ROOT), overrides=overrides(url, tmp))
    env = {**os.environ, "WEBHOOK_LEASE_SECONDS": "5", "WEBHOOK_COALESCE_SECONDS": "0"}
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)


def deliver(app, url: str, tmp: str, total: int, receiver: Receiver) -> dict:
    started = time.perf_counter()
    first = start_worker(url, tmp)
    while counts(app).get("delivered", 0) < total * 0.3:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)  # mid-batch: its leased rows wait for the lease to expire
    first.wait()
    at_kill = counts(app).get("delivered", 0)
    killed_after = time.perf_counter() - started
    workers = [start_worker(url, tmp), start_worker(url, tmp)]
    deadline = time.perf_counter() + 1800
    while counts(app).get("delivered", 0) < total and time.perf_counter() < deadline:
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.terminate()
        worker.wait()
    final = counts(app)
    unique = len(set(receiver.ids))
    return {
        "deliveries": total,
        "seconds": round(elapsed, 1),
        "deliveries_per_second": round(total / elapsed, 1),
        "one_worker_per_second_before_kill": round(at_kill / killed_after, 1),
        "killed_worker_at_delivered": at_kill,
        "log_after": final,
        "receiver_unique_webhook_ids": unique,
        "receiver_requests": len(receiver.ids),
        "none_lost": final.get("delivered", 0) == total and unique == total,
    }


def run(url: str, tmp: str, args) -> dict:
    from core.db import db
    from wsgi import create_app

    os.environ["WEBHOOK_COALESCE_SECONDS"] = "0"
    app = create_app(overrides(url, tmp))
    with app.app_context():
        db.create_all()
        from cooperatives.reference import load_ocop_categories

        load_ocop_categories()
        db.session.commit()
    runner = app.test_cli_runner()
    out = runner.invoke(args=["bench-data", "--producers", "100", "--products", str(args.changes)])
    print(out.output.strip(), flush=True)
    receiver = Receiver()
    ids = prepare(app, args, receiver)
    with app.app_context():
        from sqlalchemy import delete

        from partners.webhooks.models import WebhookDelivery

        db.session.execute(delete(WebhookDelivery))
        db.session.commit()
    raw = baseline(receiver.url)
    receiver.ids.clear()
    outbox_seconds = change(app, ids)
    total = counts(app).get("pending", 0)
    print(f"{len(ids)} changes → {total} deliveries written in {outbox_seconds:.1f} s", flush=True)
    result = deliver(app, url, tmp, total, receiver)
    result.update(
        changes=len(ids),
        partners=args.partners,
        outbox_write_seconds=round(outbox_seconds, 1),
        baseline_plain_posts_per_second=round(raw, 1),
        deliveries_vs_plain_posts_ratio=round(result["deliveries_per_second"] / raw, 3),
    )
    print(json.dumps(result, indent=1), flush=True)
    return result


def with_database(kind: str, args) -> dict:
    from sqlalchemy import create_engine, text

    tmp = tempfile.mkdtemp(prefix="webhook-bench-")
    if kind == "sqlite":
        return run(f"sqlite:///{tmp}/bench.sqlite", tmp, args)
    name = f"webhook_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(ADMIN_PG, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        return run(ADMIN_PG.rsplit("/", 1)[0] + "/" + name, tmp, args)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--partners", type=int, default=5)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    figures = {kind: with_database(kind, args) for kind in kinds}
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "webhook_fanout.json").write_text(
        json.dumps(
            {
                "benchmark": "webhook fan-out (changes × partners, a worker killed mid-run)",
                "baseline": "plain POSTs of a similar body to the same receiver, 8 at a time",
                "figures": figures,
            },
            indent=1,
        )
    )
    return 0 if all(f["none_lost"] for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
