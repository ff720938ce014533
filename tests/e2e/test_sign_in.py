"""Signing in through the real form, with CSRF on, in Chromium at phone size."""

from __future__ import annotations

import re

from tests.e2e.conftest import sign_in


def test_manager_signs_in_with_phone_and_password(page):
    sign_in(page)
    assert "/login" not in page.url
    assert page.get_by_role("button", name="Đăng xuất").count() >= 1


def test_wrong_password_keeps_the_typed_phone_and_explains(page):
    sign_in(page, password="not-the-password")
    assert re.search(r"/login", page.url)
    assert page.get_by_label("Số điện thoại hoặc e-mail").input_value() == "0912000001"
