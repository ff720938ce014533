"""One choice of language, remembered on every page: a `?lang=` link (the scan page's switch)
and the header's switch both set one cookie, no session, so the scan page keeps its fast
path; a browser that keeps no cookie carries the choice in the page's links."""

from __future__ import annotations

import re


def _lang(response) -> str:
    return re.search(r'<html lang="(\w+)">', response.get_data(as_text=True))[1]


def test_a_lang_link_is_remembered_on_the_next_pages(client):
    first = client.get("/?lang=en")
    assert _lang(first) == "en"
    cookies = first.headers.getlist("Set-Cookie")
    assert any(c.startswith("lang=en;") for c in cookies)
    assert not any(c.startswith("session=") for c in cookies)  # no session for a visitor
    assert _lang(client.get("/login")) == "en"
    assert _lang(client.get("/")) == "en"
    back = client.get("/login?lang=vi")
    assert _lang(back) == "vi"
    assert _lang(client.get("/")) == "vi"


def test_the_header_switch_is_remembered_too(client):
    response = client.post("/lang/en", data={"next": "/login"})
    assert response.headers["Location"] == "/login"
    assert _lang(client.get("/")) == "en"


def test_a_browser_without_cookies_keeps_the_choice_in_the_links(app):
    cookieless = app.test_client(use_cookies=False)
    html = cookieless.get("/?lang=en").get_data(as_text=True)
    assert 'href="/login?lang=en"' in html
    assert re.search(r'href="/static/css/app\.[0-9a-f]{10}\.css"', html)  # never on assets
