"""Issue 9, done when (card half): on a 360×640 phone a buyer pays by card on localstripe and
sees the order paid; another is declined, then pays with another card; the producer refunds
part of a paid order and the refund shows on the buyer's order page.

A server of its own (the shared one has no card payments): localstripe on a free port, the app
under gunicorn pointed at it with its webhook registered, the demo data loaded."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import localstripe as ls
from tests.e2e.conftest import (
    ROOT,
    _build_schema,
    _free_port,
    _phone_page,
    _run,
    _wait_healthy,
    sign_in,
)
from tests.e2e.test_shop_journey import LAN, _add_first_pack


@pytest.fixture(scope="module")
def card_server(tmp_path_factory, browser):
    if not ls.available():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI: localstripe is not installed (make localstripe)", pytrace=False)
        pytest.skip("localstripe is not installed (make localstripe)")
    home = tmp_path_factory.mktemp("e2e-card")
    port = _free_port()
    with ls.running(_free_port(), home / "localstripe.log") as stripe:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(stripe.config())
        env.update(
            {
                "APP_ENV": "testing",
                "SECRET_KEY": secrets.token_urlsafe(48),
                "DATABASE_URL": f"sqlite:///{home / 'card.db'}",
                "MEDIA_ROOT": str(home / "media"),
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                "RATELIMIT_ENABLED": "false",
                "SESSION_COOKIE_SECURE": "false",
                "PYTHONUNBUFFERED": "1",
            }
        )
        _build_schema(env)
        _run([sys.executable, "-m", "flask", "--app", "wsgi", "seed-demo"], env)
        base = f"http://127.0.0.1:{port}"
        gunicorn = Path(sys.executable).parent / "gunicorn"
        command = [
            str(gunicorn),
            "wsgi:create_app()",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ]
        log = home / "server.log"
        with log.open("w") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            _wait_healthy(base, process, log)
            stripe.register_webhook(f"{base}/payments/stripe/webhook")
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(15)


@pytest.fixture
def phone(browser, card_server):
    context, page = _phone_page(browser, card_server)
    yield page
    context.close()


def _checkout_by_card(page) -> None:
    _add_first_pack(page, "cam cao phong", "Cam Cao Phong loại 1")
    page.goto("/cart")
    page.get_by_role("link", name="Đặt hàng").click()
    page.get_by_label("Họ tên người nhận").fill("Chị Mai")
    page.get_by_label("Số điện thoại").fill("0983 111 222")
    page.get_by_label("Tỉnh, thành phố").select_option(label="Thành phố Hà Nội")
    ward = page.get_by_label("Xã, phường")
    expect(ward.locator("option", has_text="Phường Ba Đình")).to_have_count(1)
    ward.select_option(label="Phường Ba Đình")
    page.get_by_label("Số nhà, thôn, đường").fill("12 Hàng Bài")
    page.get_by_label("Thanh toán").select_option(label="Thẻ ngân hàng / thẻ quốc tế")
    page.get_by_role("button", name="Đặt hàng").click()
    expect(page.get_by_role("heading", name=re.compile("Thanh toán thẻ"))).to_be_visible()


def _enter_card(page, number: str) -> None:
    """The fields Stripe.js (localstripe's stand-in) mounted on the card page."""
    page.get_by_placeholder("number").fill(number)
    page.get_by_placeholder("exp_month").fill("12")
    page.get_by_placeholder("exp_year").fill("30")
    page.get_by_placeholder("cvc").fill("123")
    page.get_by_placeholder("postal_code").fill("10000")
    page.get_by_role("button", name=re.compile(r"^Thanh toán .*₫")).click()


def test_a_buyer_pays_by_card_and_sees_the_order_paid(phone, results_dir):
    _checkout_by_card(phone)
    _enter_card(phone, ls.CARD_OK)
    expect(phone.get_by_text("Đã thanh toán. Cảm ơn bạn!")).to_be_visible()
    expect(phone.locator(".payment-paid")).to_have_text("đã thanh toán")
    expect(phone.get_by_text("Đã xác nhận").first).to_be_visible()
    phone.screenshot(path=str(results_dir / "card-paid.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_declined_card_then_another_card_pays(phone, results_dir):
    _checkout_by_card(phone)
    _enter_card(phone, ls.CARD_DECLINED)
    expect(phone.get_by_text("Thẻ bị từ chối")).to_be_visible()
    phone.screenshot(path=str(results_dir / "card-declined.png"), full_page=True)
    _enter_card(phone, ls.CARD_OK)
    expect(phone.locator(".payment-paid")).to_have_text("đã thanh toán")


def test_a_refund_shows_on_the_buyers_order_page(browser, card_server, phone, results_dir):
    _checkout_by_card(phone)
    _enter_card(phone, ls.CARD_OK)
    expect(phone.locator(".payment-paid")).to_be_visible()
    order_url = phone.url
    ref = re.search(r"/orders/(CQ-[A-Z0-9]{8})", order_url).group(1)

    context, lan = _phone_page(browser, card_server)
    sign_in(lan, LAN)
    lan.goto("/manage")
    lan.locator("a.producer-link").first.click()
    producer_id = int(re.search(r"/manage/(\d+)", lan.url).group(1))
    lan.goto(f"/manage/{producer_id}/orders")
    lan.get_by_role("link", name=ref).click()
    lan.get_by_label(re.compile("Số tiền hoàn")).fill("50.000")
    lan.get_by_role("button", name="Hoàn tiền").click()
    expect(lan.get_by_text(re.compile("Đã hoàn 50.000"))).to_be_visible()
    context.close()

    phone.goto(order_url)
    expect(phone.locator(".refund-note")).to_contain_text("50.000")
    phone.screenshot(path=str(results_dir / "card-refund.png"), full_page=True)
