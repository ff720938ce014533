"""The API page for people at /developers: served from our own templates and CSS (no CDN),
Vietnamese by default and English on request, linking the OpenAPI document; its signature
check, run as a partner would copy it, accepts what the Standard Webhooks library signs."""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

PAGE = "/developers"


def test_the_page_explains_the_api_in_vietnamese_by_default(client):
    response = client.get(PAGE)
    text = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "API cho đối tác" in text and "Xác thực" in text
    assert "Authorization: Bearer cq_…" in text
    assert "/api/v1/openapi.json" in text
    for path in ("/api/v1/feeds/products", "products.xml", "/api/v1/orders", "webhooks/endpoints"):
        assert path in text
    assert "Idempotency-Key" in text and "webhook-signature" in text


def test_the_page_is_in_english_on_request(client):
    text = client.get(PAGE + "?lang=en").get_data(as_text=True)
    assert "Partner API" in text and "Authentication" in text
    assert "Xác thực" not in text


def test_the_page_loads_nothing_from_another_host(client):
    text = client.get(PAGE).get_data(as_text=True)
    loaded = re.findall(r'<(?:link|script|img)[^>]+(?:href|src)="([^"]+)"', text)
    assert loaded and all(url.startswith(("/", "data:")) for url in loaded), loaded
    assert any(url.startswith("/static/css/developers.") for url in loaded)


def test_the_page_is_linked_from_every_footer(client):
    assert 'href="/developers"' in client.get("/").get_data(as_text=True)


def test_the_documented_signature_check_accepts_the_reference_librarys_signature(client):
    text = client.get(PAGE).get_data(as_text=True)
    code = html.unescape(re.search(r'<code id="verify-python">(.*?)</code>', text, re.S).group(1))
    namespace: dict = {}
    exec(compile(code, "developers-page", "exec"), namespace)  # noqa: S102  (our own page)
    verify = namespace["verify"]

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"type":"product.updated","data":{"id":1,"title":"Cam Cao Phong"}}'
    now = datetime.now(tz=UTC)
    signature = Webhook(secret).sign("msg_1", now, body.decode())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": "v1,AAAA " + signature,  # a rotated-out signature first
    }

    assert verify(secret, headers, body) is True
    assert verify(secret, headers, body.replace(b"Cam", b"Cao")) is False
    assert verify("whsec_" + "A" * 32, headers, body) is False
    stale = {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    assert verify(secret, stale, body) is False
