"""Addresses: the public base URL printed on stamps and in feeds, and safe redirect targets."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

from flask import current_app, has_request_context, request

REDIRECT_MAX_LENGTH = 2000


def public_url(path: str = "") -> str:
    """An absolute address on the public host (`PUBLIC_BASE_URL`): stamps, feeds, e-mails."""
    if path and not path.startswith("/"):
        path = "/" + path
    return current_app.config["PUBLIC_BASE_URL"] + path


def _unsafe_characters(text: str) -> bool:
    # Browsers drop tabs/newlines in URLs and read "\" as "/": "/\evil" is "//evil".
    return any(ord(ch) < 33 or ord(ch) == 127 or ch == "\\" for ch in text)


def _own_host(netloc: str) -> bool:
    return has_request_context() and netloc.lower() == request.host.lower()


def safe_redirect_target(target: str | None, fallback: str | None = "/") -> str | None:
    """A path on this site to send the browser to, or `fallback` (no open redirects).

    The one check for every redirect that takes `next`, a Referer or another address from the
    request. Accepts "/path?query" and absolute addresses on the request's own host (reduced to
    their path); refuses other hosts, scheme-relative "//host", backslashes, control characters,
    userinfo, and anything that becomes one of those once percent-decoded.
    """
    if not isinstance(target, str) or not target or len(target) > REDIRECT_MAX_LENGTH:
        return fallback
    if _unsafe_characters(target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or not _own_host(parts.netloc):
            return fallback
        target = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    decoded = target
    for _round in range(3):  # "/%2F%2Fevil", "/%252F…": refuse what decodes to an escape
        decoded = unquote(decoded)
        if decoded.startswith("//") or _unsafe_characters(decoded):
            return fallback
    final = urlsplit(target)
    if final.scheme or final.netloc:
        return fallback
    return target
