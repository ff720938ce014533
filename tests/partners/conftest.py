"""Fixtures for the partner tests: a partner with a key, producers that opted in, a partner's
webhook receiver (a real HTTP server on a free loopback port)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.db import db
from partners import services
from partners.webhooks import services as webhooks
from partners.webhooks.models import WebhookDelivery
from tests.accounts.conftest import build_app  # noqa: F401  (an app with rate limits on)
from tests.shop.helpers import stocked_product


@pytest.fixture
def partner(app):
    """(partner id, plain key) for a partner with feeds:read and orders:write."""
    with app.app_context():
        partner, _key, plain = services.create_partner("Postmart", "feeds:read,orders:write")
        db.session.commit()
        return partner.id, plain


def order_body(variant_id: int, quantity: int = 1, ward: str | None = None, **extra) -> dict:
    """A partner's order for delivery in Hà Nội (give `ward` when outside an app context)."""
    from tests.shop.helpers import HANOI, hanoi_ward

    return {
        "lines": [{"variant_id": variant_id, "quantity": quantity}],
        "contact": {
            "name": "Chị Mai",
            "phone": "0912 345 678",
            "province_code": HANOI,
            "ward_code": ward or hanoi_ward(),
            "street": "12 Hàng Bài",
        },
        **extra,
    }


def bearer(plain: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plain}"}


def opt_in(producer_id: int, *partner_ids: int) -> None:
    services.set_opt_ins(producer_id, set(partner_ids))


class Receiver:
    """A partner's endpoint: records every request, answers `status`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status < 300 else b"busy")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        return [json.loads(body) for _headers, body in self.requests]


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def settings(app):
    saved = dict(app.config)
    app.config.update(WEBHOOK_COALESCE_SECONDS=60, WEBHOOK_MAX_ATTEMPTS=3)
    yield app.config
    app.config.clear()
    app.config.update(saved)


@pytest.fixture
def hooked(app, ctx, receiver, settings):
    """A partner (key with webhooks:manage) with an endpoint; a producer opted in to it."""
    partner, _key, plain = services.create_partner(
        "Voso", "feeds:read,orders:write,webhooks:manage"
    )
    _endpoint, secret = webhooks.add_endpoint(partner.id, receiver.url)
    producer, product, variant, _batch = stocked_product(units=5)
    services.set_opt_ins(producer.id, {partner.id})
    db.session.commit()
    db.session.execute(delete_all())  # setting up made deliveries: start from a clean log
    db.session.commit()
    return {
        "partner_id": partner.id,
        "key": plain,
        "secret": secret,
        "product_id": product.id,
        "variant_id": variant.id,
        "producer_id": producer.id,
    }


def delete_all():
    from sqlalchemy import delete

    return delete(WebhookDelivery)
