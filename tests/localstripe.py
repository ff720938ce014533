"""localstripe, the Stripe-compatible test server, as a separate process on a free port.

It lives in its own virtualenv (`.venv-stripe`, `make localstripe`; GPL, a test/dev tool only:
the app never imports it). Run with `--from-scratch` and without its store dump to
/tmp/localstripe.pickle (shared by every instance on the machine, and rewritten on every POST).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
PYTHON = Path(os.environ.get("LOCALSTRIPE_PYTHON") or ROOT / ".venv-stripe" / "bin" / "python")
API_KEY = "sk_test_choque_localstripe"
PUBLISHABLE_KEY = "pk_test_choque_localstripe"
WEBHOOK_SECRET = "whsec_choque_localstripe_test"
LAUNCH = (
    "import sys, localstripe.resources as r\n"
    "r.Store.dump_to_disk = lambda self: None\n"
    "sys.argv = ['localstripe', '--port', sys.argv[1], '--from-scratch']\n"
    "from localstripe.server import start\n"
    "start()\n"
)

# Stripe's documented test cards that localstripe honours
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"  # attaches, then every charge is declined
CARD_3DS = "4000002500003155"  # 3-D Secure required, then succeeds


def available() -> bool:
    return PYTHON.exists()


class LocalStripe:
    def __init__(self, process: subprocess.Popen, port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self, browser_host: str | None = None) -> dict[str, str]:
        """The app settings that point at this server. `browser_host`: the address phones use
        to reach this machine (make run with a LAN PUBLIC_BASE_URL): Stripe.js is loaded from
        it, and the stand-in script calls the API on the host it was loaded from."""
        script_base = self.base
        if browser_host and browser_host not in ("127.0.0.1", "localhost", "::1"):
            script_base = f"http://{browser_host}:{self.port}"
        return {
            "STRIPE_API_BASE": self.base,
            "STRIPE_API_KEY": API_KEY,
            "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_JS_URL": f"{script_base}/js.stripe.com/v3/",
        }

    def _call(self, method: str, path: str, body: bytes | None = None, **headers: str) -> bytes:
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def register_webhook(self, url: str, name: str = "choque") -> None:
        body = json.dumps({"url": url, "secret": WEBHOOK_SECRET}).encode()
        self._call(
            "POST", f"/_config/webhooks/{name}", body, **{"Content-Type": "application/json"}
        )

    def flush(self) -> None:
        self._call("DELETE", "/_config/data")

    def card_token(self, number: str) -> str:
        """What Stripe.js does in the browser: a card token made with the publishable key."""
        fields = {
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
            "key": PUBLISHABLE_KEY,
        }
        body = "&".join(f"{k}={v}" for k, v in fields.items()).encode()
        answer = self._call(
            "POST", "/v1/tokens", body, **{"Content-Type": "application/x-www-form-urlencoded"}
        )
        return json.loads(answer)["id"]

    def authenticate(self, intent_id: str, client_secret: str, success: bool = True) -> None:
        """What the buyer does in the 3-D Secure window."""
        body = json.dumps({"key": PUBLISHABLE_KEY, "client_secret": client_secret}).encode()
        self._call(
            "POST",
            f"/v1/payment_intents/{intent_id}/_authenticate?success={str(success).lower()}",
            body,
            **{"Content-Type": "application/json"},
        )


def _wait(base: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited:\n{log.read_text(errors='replace')}")
        try:
            urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"localstripe gave no answer within {timeout:.0f} s")


@contextmanager
def running(port: int, log: Path) -> Iterator[LocalStripe]:
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(PYTHON), "-c", LAUNCH, str(port)], stdout=out, stderr=out, cwd=log.parent
        )
    server = LocalStripe(process, port, log)
    try:
        _wait(server.base, process, log)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def signed(payload: dict, secret: str = WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, str]:
    """An event body and its Stripe-Signature header, as Stripe signs them."""
    body = json.dumps(payload).encode()
    stamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={stamp},v1={mac}"


def main(argv: list[str]) -> int:
    """`python -m tests.localstripe WEBHOOK_URL -- COMMAND…` (make run): localstripe on a free
    port, the webhook registered, COMMAND run with the STRIPE_* settings; localstripe stops
    with it. With STRIPE_API_KEY already set (real Stripe), COMMAND runs alone."""
    if "--" not in argv or argv.index("--") != 1:
        print("usage: python -m tests.localstripe WEBHOOK_URL -- COMMAND…", file=sys.stderr)
        return 2
    webhook, command = argv[0], argv[2:]
    if os.environ.get("STRIPE_API_KEY") or not available():
        if not available():
            print("localstripe missing (make localstripe): no card payments", file=sys.stderr)
        return subprocess.call(command)
    from tests.live import free_port

    log = ROOT / "instance" / "localstripe.log"
    log.parent.mkdir(exist_ok=True)
    with running(free_port(), log) as server:
        server.register_webhook(webhook)
        print(f"localstripe on {server.base} (log: {log}); test card 4242 4242 4242 4242")
        phones_see = urlsplit(os.environ.get("PUBLIC_BASE_URL", "")).hostname
        settings = server.config(browser_host=phones_see)
        process = subprocess.Popen(command, env={**os.environ, **settings})
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            return process.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
