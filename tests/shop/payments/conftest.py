"""localstripe for the payment tests: one process per session on a free port; each test points
the app at it, and a threaded server of the test app receives its signed webhooks."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from tests import localstripe
from tests.live import free_port


@pytest.fixture(scope="session")
def localstripe_server(tmp_path_factory: pytest.TempPathFactory):
    if not localstripe.available():
        reason = "localstripe is not installed (make localstripe)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI: {reason}", pytrace=False)
        pytest.skip(reason)
    log = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    with localstripe.running(free_port(), log) as server:
        yield server


@pytest.fixture
def stripe_app(app, localstripe_server) -> Iterator:
    """The test app pointed at localstripe for one test."""
    saved = {name: app.config.get(name) for name in localstripe_server.config()}
    app.config.update(localstripe_server.config())
    app.extensions.pop("stripe_client", None)
    yield app
    app.config.update(saved)
    app.extensions.pop("stripe_client", None)
    localstripe_server.flush()


@pytest.fixture
def webhook_receiver(stripe_app, localstripe_server) -> Iterator[str]:
    """The test app served on a free port; localstripe sends its webhooks there."""
    port = free_port()
    server = make_server("127.0.0.1", port, stripe_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/payments/stripe/webhook"
    localstripe_server.register_webhook(url)
    try:
        yield url
    finally:
        localstripe_server.register_webhook("http://127.0.0.1:9/unused")
        server.shutdown()
        thread.join(10)
