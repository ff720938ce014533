"""Statement reconciliation at scale: BENCH_TRANSFERS (default 1000) VietQR orders, a bank
statement CSV with one exact transfer per order (Vietnamese headers, `;`, 1.500.000) plus as many
unmatched lines, imported once (every order paid through the ledger), then the same statement
again (everything a duplicate, nothing applied).

Figures per database: lines/s of the first import and of the re-upload, where the time goes
(reading the CSV, finding the order, the ledger's mark_paid, the rest: recording the transfer).
Baseline: reading and checking the same CSV without touching the database (statement_csv.parse)
— ratio = import time ÷ parse time.

    python -m bench.bench_reconciliation   (BENCH_TRANSFERS, BENCH_DATABASES=sqlite,postgresql)
"""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager

from bench.harness import (
    backends,
    database,
    database_version,
    env_int,
    log,
    ratio,
    write_results,
)

NAME = "reconciliation"
BASELINE = "reading and checking the same statement CSV without the database (parse only)"
TRANSFERS = max(env_int("BENCH_TRANSFERS", 1000), 1)
MAPPING = {
    "date": "Ngày giao dịch",
    "reference": "Số tham chiếu",
    "credit": "Số tiền ghi có",
    "debit": "Số tiền ghi nợ",
    "description": "Nội dung giao dịch",
}


@contextmanager
def _timed(spent: dict[str, float], key: str, module, name: str):
    """Wrap module.name so the time spent inside it adds up in spent[key]."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - start

    setattr(module, name, wrapper)
    try:
        yield
    finally:
        setattr(module, name, original)


def _orders(n: int) -> list[tuple[str, int]]:
    from datetime import date, timedelta

    from core.db import db, unit_of_work
    from shop.inventory.receiving import receive_stock
    from tests.factories import make_batch, make_producer, make_product, make_user
    from tests.shop.helpers import order_of

    with unit_of_work():
        producer = make_producer(manager=make_user(name="Quản lý"))
        product = make_product(producer, price=150000)
        variant = product.variants[0]
        batch = make_batch(
            product, quantity="100000", unit="kg", best_before=date.today() + timedelta(days=60)
        )
        receive_stock(producer.id, variant_id=variant.id, batch_id=batch.id, units=n + 10)
    out = []
    for start in range(0, n, 200):
        with unit_of_work():
            for _i in range(start, min(n, start + 200)):
                order = order_of((variant.id, 1), payment_method="vietqr")
                out.append((order.ref, order.total_vnd))
    db.session.remove()
    return out


def _statement(orders: list[tuple[str, int]]) -> bytes:
    lines = [
        "SAO KÊ TÀI KHOẢN 1000123456;;;;",
        ";".join(MAPPING[k] for k in ("date", "reference", "debit", "credit", "description")),
    ]
    for index, (ref, total) in enumerate(orders):
        amount = f"{total:,}".replace(",", ".")
        lines.append(f"30/11/2026 09:{index % 60:02d}:00;FT{index:08d};;{amount};MBVCB {ref} ck")
        lines.append(f"30/11/2026 10:00:00;FX{index:08d};;99.000;tien hang {index}")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def _import(raw: bytes, admin_id: int, spent: dict[str, float]) -> tuple[float, object]:
    from core.db import unit_of_work
    from shop.payments import ledger, reconciliation
    from shop.payments import reconciliation_statements as statements

    with unit_of_work():
        upload_id = statements.start_upload(
            uploader_id=admin_id, producer_id=None, bank="vietcombank", filename="s.csv", raw=raw
        ).id
    start = time.perf_counter()
    with (
        _timed(spent, "mark_paid", ledger, "mark_paid"),
        _timed(spent, "find_order", reconciliation, "find_order"),
        _timed(spent, "parse", statements.statement_csv, "parse"),
        unit_of_work(),
    ):
        done = statements.import_upload(upload_id, None, MAPPING, admin_id)
    return time.perf_counter() - start, done


def measure(kind: str) -> dict:
    from core.db import db, unit_of_work
    from shop.payments import reconciliation_csv as statement_csv
    from tests.factories import make_user
    from wsgi import create_app

    with database(kind) as target:
        app = create_app(
            {
                "APP_ENV": "testing",
                "SECRET_KEY": "bench-secret-key-that-is-long-enough-for-it",
                "SQLALCHEMY_DATABASE_URI": target.url,
                "WTF_CSRF_ENABLED": False,
            }
        )
        with app.app_context(), app.test_request_context():
            db.create_all()
            from cooperatives.reference import load_ocop_categories

            with unit_of_work():
                load_ocop_categories()
            log(f"{kind}: placing {TRANSFERS} VietQR orders")
            orders = _orders(TRANSFERS)
            with unit_of_work():
                admin_id = make_user(name="Quản trị", admin=True).id
            raw = _statement(orders)
            text = statement_csv.decode(raw)
            start = time.perf_counter()
            parsed = statement_csv.parse(text, MAPPING)
            parse_seconds = time.perf_counter() - start
            first_spent: dict[str, float] = defaultdict(float)
            first, done = _import(raw, admin_id, first_spent)
            applied, unmatched = done.applied, done.unmatched
            again_spent: dict[str, float] = defaultdict(float)
            again, repeat = _import(raw, admin_id, again_spent)
            duplicates, reapplied = repeat.duplicates, repeat.applied
            version = database_version(target)
            db.session.remove()
            db.engine.dispose()
    lines = len(parsed.lines)
    other = first - sum(first_spent.values())
    figures = {
        "database": version,
        "statement_lines": lines,
        "orders_paid": applied,
        "unmatched_lines": unmatched,
        "second_upload_duplicates": duplicates,
        "second_upload_applied": reapplied,  # must be 0
        "parse_seconds": round(parse_seconds, 4),
        "import_seconds": round(first, 3),
        "import_lines_per_second": round(lines / first, 1),
        "import_ratio_to_parse": ratio(first, parse_seconds),
        "reupload_seconds": round(again, 3),
        "reupload_lines_per_second": round(lines / again, 1),
        "reupload_ratio_to_parse": ratio(again, parse_seconds),
        "import_share": {
            "parse": round(first_spent["parse"] / first, 3),
            "find_order": round(first_spent["find_order"] / first, 3),
            "ledger_mark_paid": round(first_spent["mark_paid"] / first, 3),
            "record_transfer_and_rest": round(other / first, 3),
        },
    }
    log(f"{kind}: {figures}")
    return figures


def main() -> int:
    results = {kind: measure(kind) for kind in backends()}
    write_results(NAME, BASELINE, results, transfers=TRANSFERS)
    bad = [k for k, f in results.items() if f["second_upload_applied"] or not f["orders_paid"]]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
