"""Signing in through the real form, with CSRF on, in Chromium at phone size."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def test_manager_signs_in_with_phone_and_password(page):
    sign_in(page)
    expect(page.get_by_role("button", name="Đăng xuất").first).to_be_visible()
    assert "/login" not in page.url


def test_wrong_password_keeps_the_typed_phone_and_explains(page):
    sign_in(page, password="not-the-password")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator(".error, [role=alert]").first).to_be_visible()
    expect(page.get_by_label("Số điện thoại hoặc e-mail")).to_have_value("0912000001")
