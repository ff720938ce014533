"""`make run` for a phone on the same Wi-Fi: the card page must load Stripe.js (localstripe's
stand-in) from an address the phone can reach, not the server's own loopback."""

from __future__ import annotations

from pathlib import Path

from tests.localstripe import LocalStripe


def test_stripe_js_comes_from_the_lan_address_phones_use():
    server = LocalStripe(process=None, port=8420, log=Path("unused.log"))
    lan = server.config(browser_host="192.168.1.20")
    assert lan["STRIPE_JS_URL"] == "http://192.168.1.20:8420/js.stripe.com/v3/"
    assert lan["STRIPE_API_BASE"] == "http://127.0.0.1:8420"  # the app's own calls stay local
    for loopback in (None, "127.0.0.1", "localhost"):
        assert server.config(browser_host=loopback)["STRIPE_JS_URL"].startswith(
            "http://127.0.0.1:8420/"
        )
