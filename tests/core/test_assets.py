"""Bytes on a slow link: text answers gzipped, static files named by their content and kept
by browsers for a year."""

from __future__ import annotations

import gzip
import re

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def _stylesheet(client) -> str:
    html = client.get("/healthz")  # warm the app; pages below are rendered fresh
    assert html.status_code in (200, 503)
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'<link rel="stylesheet" href="(/static/css/app\.[0-9a-f]{10}\.css)"', page)[1]


def test_static_files_have_content_hashed_names_cached_for_a_year(client):
    path = _stylesheet(client)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.mimetype == "text/css"
    assert b"--green" in response.get_data()


def test_an_old_hash_still_answers_but_is_not_kept_forever(client):
    with client.get("/static/css/app.0123456789.css") as response:
        assert response.status_code == 200
        assert "immutable" not in response.headers.get("Cache-Control", "")
    assert client.get("/static/css/nothing.0123456789.css").status_code == 404


def test_text_answers_are_gzipped_for_clients_that_accept_it(client):
    plain = client.get("/login")
    packed = client.get("/login", headers=GZIP)
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    body = gzip.decompress(packed.get_data())
    assert len(packed.get_data()) < len(body) / 2
    assert b"<form" in body


def test_static_css_is_gzipped_and_immutable(client):
    response = client.get(_stylesheet(client), headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip"
    assert b"--green" in gzip.decompress(response.get_data())


def test_a_client_refusing_gzip_gets_plain_bytes(client):
    response = client.get("/login", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in response.headers
