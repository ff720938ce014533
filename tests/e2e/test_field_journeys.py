"""Issue 11, done when: each journey of JOURNEYS.md walked at 360×640 in Vietnamese and in
English, every page it visits checked by axe-core (0 critical, serious or moderate), its tap
targets measured (≥ 44×44 px) and its width (no sideways scrolling).

A journey signs in through the real form, lands where its role's work is, then visits the
pages reachable from there (links in page order, same area, a bounded number). The English
walk chooses English once, with the header's switch (or the scan page's link), and every
page after that must be in English: one remembered choice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.audit import Findings, audit_page
from tests.e2e.conftest import DEMO_PASSWORD, PHONE

MAX_PAGES = 14  # per journey and language: the walk stays a few minutes on two cores
SKIP = re.compile(r"\.(png|svg|pdf|webp|json)$|/logout|/lang/|/api/|/media/|/dev/|/go\b")


@pytest.fixture
def phone(browser, live_server: str) -> Iterator:
    """A phone in a fresh context; the CSP is bypassed only so axe.min.js can be injected."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        base_url=live_server,
        bypass_csp=True,
    )
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def _sign_in(page, phone_number: str, findings: Findings, lang: str) -> None:
    page.goto("/login")
    if lang == "en":
        _choose_english(page)
    audit_page(page, findings, lang=lang)
    identifier = "Phone number or e-mail" if lang == "en" else "Số điện thoại hoặc e-mail"
    password = "Password" if lang == "en" else "Mật khẩu"
    button = "Sign in" if lang == "en" else "Đăng nhập"
    page.get_by_label(identifier).fill(phone_number)
    page.get_by_label(password, exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.url


def _choose_english(page) -> None:
    page.get_by_role("button", name="English").or_(page.get_by_role("link", name="English")).click()
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def _links(page, prefixes: tuple[str, ...]) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if parts.netloc != urlsplit(page.url).netloc or SKIP.search(parts.path):
            continue
        if path.startswith(prefixes) and path not in found:
            found.append(path)
    return found


def _walk(page, start: list[str], prefixes: tuple[str, ...], findings: Findings, lang: str):
    queue, seen, walked = list(start), findings.seen, 0
    while queue and walked < MAX_PAGES:
        path = queue.pop(0)
        key = re.sub(r"\?lang=\w+$", "", path)
        if key in seen:
            continue
        seen.add(key)
        walked += 1
        response = page.goto(path)
        assert response is not None and response.status < 500, (path, response and response.status)
        audit_page(page, findings, lang=lang)
        queue += [p for p in _links(page, prefixes) if p not in queue]
    return seen


def _check(findings: Findings) -> None:
    assert not findings.problems, findings.report()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_cooperative_managers_journey(phone, lang, flask_cli):
    findings = Findings()
    _sign_in(phone, "0912000001", findings, lang)  # Bà Lan
    assert re.search(r"/manage/\d+$", phone.url), phone.url  # lands on her cooperative
    producer = re.search(r"/manage/(\d+)", phone.url)[1]
    base = f"/manage/{producer}"
    start = [
        base,
        f"{base}/products",
        f"{base}/products/new",
        f"{base}/batches",
        f"{base}/batches/new",
        f"{base}/stamps",
        f"{base}/stamps/new",
        f"{base}/stamps/activate",
        f"{base}/stamps/void",
        f"{base}/ocop",
        f"{base}/members",
        f"{base}/history",
        f"{base}/profile",
        "/account",
    ]
    _walk(phone, start, (base,), findings, lang)
    _walk(phone, [f"{base}/stamps"], (f"{base}/stamps/",), findings, lang)
    _walk(phone, [f"{base}/batches"], (f"{base}/batches/",), findings, lang)
    _check(findings)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_changing_ones_email_from_the_account_page(phone, lang, live_db):
    """The account page's "change e-mail": the form (and its error), the code page, the change."""
    en = lang == "en"
    findings = Findings()
    _sign_in(phone, "0912000003", findings, lang)  # Nguyễn Văn A, a household (no e-mail yet)
    for path in ("/account", "/account/phone"):
        phone.goto(path)
        audit_page(phone, findings, lang=lang)
    phone.goto("/account")
    change = "Change e-mail" if en else "Đổi e-mail"
    add = "Add an e-mail" if en else "Thêm e-mail"
    phone.get_by_role("link", name=change).or_(phone.get_by_role("link", name=add)).click()
    phone.wait_for_load_state()
    audit_page(phone, findings, lang=lang)
    field = phone.get_by_label("New e-mail" if en else "E-mail mới")
    send = phone.get_by_role("button", name="Send code" if en else "Gửi mã")
    field.fill("chua-dung@")
    send.click()
    phone.wait_for_load_state()
    audit_page(phone, findings, lang=lang)  # the error next to the field, the typed value kept
    expect(field).to_have_value("chua-dung@")
    new = f"vana.{lang}@example.vn"
    field.fill(new)
    send.click()
    phone.wait_for_load_state()
    assert phone.url.endswith("/account/email/verify"), phone.url
    audit_page(phone, findings, lang=lang)
    body = live_db(
        "SELECT body FROM outbox_message WHERE recipient = ? ORDER BY id DESC LIMIT 1", new
    )[0][0]
    code = re.search(r"\b(\d{6})\b", body)[1]
    phone.get_by_label("6-digit code" if en else "Mã gồm 6 chữ số").fill(code)
    phone.get_by_role("button", name="Confirm" if en else "Xác nhận").click()
    phone.wait_for_load_state()
    assert phone.url.endswith("/account"), phone.url
    expect(phone.locator("dl.facts")).to_contain_text(new)
    audit_page(phone, findings, lang=lang)
    _check(findings)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_community_helpers_journey(phone, lang):
    findings = Findings()
    _sign_in(phone, "0912000002", findings, lang)  # Anh Tuấn
    assert phone.url.endswith("/manage"), phone.url  # the households he helps
    audit_page(phone, findings, lang=lang)
    households = re.findall(r"/manage/(\d+)", " ".join(_links(phone, ("/manage/",))))
    assert households
    base = f"/manage/{households[0]}"
    _walk(
        phone,
        [base, f"{base}/products", f"{base}/batches", f"{base}/batches/new", f"{base}/stamps"],
        (base,),
        findings,
        lang,
    )
    _check(findings)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_council_members_journey(phone, lang):
    findings = Findings()
    _sign_in(phone, "0912000007", findings, lang)  # Ông Hùng
    assert phone.url.endswith("/council"), phone.url  # the evaluations waiting
    _walk(
        phone,
        ["/council", "/council/certificates", "/council/expiring", "/council/revoked"],
        ("/council",),
        findings,
        lang,
    )
    _walk(phone, ["/council/stats"], ("/council/stats",), findings, lang)
    _check(findings)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_shoppers_journey(phone, lang, flask_cli):
    findings = Findings()
    stamps = dict(line.split(" ", 2)[0::2] for line in flask_cli("stamps", "sample").splitlines())
    genuine = urlsplit(stamps["active"]).path
    phone.goto(genuine)
    if lang == "en":
        _choose_english(phone)  # the scan page's own switch: a plain link
    audit_page(phone, findings, lang=lang)
    expect(phone.locator("h1")).to_have_count(1)
    buy = "Buy this product" if lang == "en" else "Mua sản phẩm này"
    phone.get_by_role("link", name=buy).click()
    phone.wait_for_load_state()
    audit_page(phone, findings, lang=lang)  # the choice followed her to the product
    others = [urlsplit(stamps[s]).path for s in ("not-activated", "void", "recalled")]
    _walk(phone, [*others, "/s/ZZZZZZZZZZZZZ"], ("/01/",), findings, lang)
    _walk(phone, ["/", "/?q=mat+ong"], ("/p/", "/c/", "/?q="), findings, lang)
    _check(findings)


def test_photo_links_are_full_tap_targets_before_their_photos_arrive(phone):
    """On 3G the extra photos of a product page arrive seconds after the page; until then their
    links must already be finger-sized (a shrink-to-fit link around a not-yet-loaded photo was
    0 px wide, and the shopper's journey caught it only when the photos were late)."""
    held = []
    phone.route("**/media/**", lambda route: held.append(route))  # photos held back, as on 3G
    findings = Findings()
    phone.goto("/p/cam-cao-phong-loai-1", wait_until="domcontentloaded")
    expect(phone.locator(".more-photos a").first).to_be_attached()
    audit_page(phone, findings, lang="vi")
    for route in held:
        route.abort()
    _check(findings)
