"""Every redirect that takes `next` or a Referer goes only to this site (core.urls)."""

from __future__ import annotations

import re

import pytest

from core.urls import safe_redirect_target

HOST = "localhost"  # the test client's host

BYPASSES = [
    "https://evil.example/phish",
    "http://evil.example",
    "//evil.example/phish",
    "///evil.example/phish",
    "////evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "/%5Cevil.example",
    "/%255C%255Cevil.example",
    "%2F%2Fevil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\nLocation: https://evil.example",
    " //evil.example",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    f"http://{HOST}//evil.example/phish",
    f"http://{HOST}/\\evil.example",
    f"http://{HOST}@evil.example/",
    f"http://user:pass@{HOST}/account",
    f"http://evil.example@{HOST}/",
    f"ftp://{HOST}/x",
    f"http://{HOST}.evil.example/",
    "https://evil.example\\@localhost/",
    "/" + "a" * 2100,
]


@pytest.mark.parametrize("target", BYPASSES)
def test_no_bypass_leaves_the_site(app, target):
    with app.test_request_context("/", base_url=f"http://{HOST}/"):
        assert safe_redirect_target(target) == "/"
        assert safe_redirect_target(target, fallback=None) is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/p/cam-cao-phong?x=1", "/p/cam-cao-phong?x=1"),
        ("/s/ABC#pin", "/s/ABC#pin"),
        (f"http://{HOST}/search?q=cam", "/search?q=cam"),
        (f"https://{HOST}/", "/"),
        ("/search?next=//evil.example", "/search?next=//evil.example"),
    ],
)
def test_paths_on_this_site_are_kept(app, target, expected):
    with app.test_request_context("/", base_url=f"http://{HOST}/"):
        assert safe_redirect_target(target) == expected


@pytest.mark.parametrize("target", BYPASSES)
def test_language_switch_never_redirects_off_site_by_next_or_referer(client, target):
    responses = [client.post("/lang/vi", data={"next": target})]
    if "\n" not in target and "\r" not in target:  # a header cannot carry a newline
        responses.append(client.post("/lang/en", headers={"Referer": target}))
    for response in responses:
        assert response.status_code == 303
        assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", BYPASSES)
def test_sign_in_never_redirects_off_site(client, target):
    html = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    kept = re.search(r'<input id="next" name="next" type="hidden" value="([^"]*)"', html)
    assert kept is not None and kept.group(1) == ""
    signed_in = client.post("/login", data={"identifier": "x", "password": "y", "next": target})
    assert "evil.example" not in signed_in.headers.get("Location", "")
