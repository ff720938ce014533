"""Where webhooks may go: public http(s) addresses only, so a partner's endpoint URL cannot make
the platform POST into its own network (SSRF). Checked when an endpoint is registered and again
on every delivery, after DNS resolution, on the very address the socket connects to (a name
that resolved to a public address when registered may point inside later).

Loopback is allowed only with WEBHOOK_ALLOW_LOOPBACK (development and tests, whose receivers
listen on 127.0.0.1; refused in production). Private, link-local, shared (CGNAT), multicast,
reserved and unspecified addresses are always refused.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit

SCHEMES = ("http", "https")


class ForbiddenAddress(OSError):
    """The endpoint's host is, or resolves to, an address webhooks may not reach."""


def address_allowed(text: str, *, allow_loopback: bool = False) -> bool:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone is link-local
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return allow_loopback
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_link_local
    )


def literal_address(host: str) -> str | None:
    """The host as an IP address when it is one (`[::1]` arrives as `::1`)."""
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):  # ValueError: an embedded NUL
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_host(host: str, port: int, *, allow_loopback: bool, must_resolve: bool) -> list[str]:
    """The addresses a connection to host may use; ForbiddenAddress when any is forbidden (a
    name with one inside address among public ones is refused: which one is used is luck)."""
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    elif host.rstrip(".").lower() == "localhost" or host.lower().endswith(".localhost"):
        addresses = ["127.0.0.1"]
    else:
        addresses = resolve(host, port)
        if not addresses:
            if must_resolve:
                raise ForbiddenAddress(f"{host} does not resolve")
            return []
    refused = [a for a in addresses if not address_allowed(a, allow_loopback=allow_loopback)]
    if refused:
        raise ForbiddenAddress(f"{host} is {refused[0]}, not a public address")
    return addresses


def check_url(url: str, *, allow_loopback: bool) -> None:
    """At registration: http(s) only; a literal or resolvable host must be public (a name that
    does not resolve yet is accepted: every delivery checks again)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ForbiddenAddress(f"scheme {parts.scheme!r} is not http(s)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    check_host(parts.hostname, port, allow_loopback=allow_loopback, must_resolve=False)


def _guarded_connect(allow_loopback: bool):
    def create_connection(address: tuple[str, int], timeout: Any = None, source: Any = None):
        host, port = address
        last: OSError | None = None
        for ip in check_host(host, port, allow_loopback=allow_loopback, must_resolve=True):
            try:  # connect to the address just checked, never to a fresh lookup
                return socket.create_connection((ip, port), timeout, source)
            except OSError as error:
                last = error
        raise last or ForbiddenAddress(f"{host} has no address")

    return create_connection


def _guarded(base: type, connect: Any) -> Any:
    def build(*args: Any, **kwargs: Any) -> Any:
        conn = base(*args, **kwargs)
        conn._create_connection = connect  # TLS still checks the name (SNI, certificate)
        return conn

    return build


class _GuardedHTTP(urllib.request.HTTPHandler):
    def __init__(self, allow_loopback: bool) -> None:
        super().__init__()
        self.guarded = _guarded(http.client.HTTPConnection, _guarded_connect(allow_loopback))

    def http_open(self, req: Any) -> Any:
        return self.do_open(self.guarded, req)


class _GuardedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, allow_loopback: bool) -> None:
        super().__init__()
        self.guarded = _guarded(http.client.HTTPSConnection, _guarded_connect(allow_loopback))

    def https_open(self, req: Any) -> Any:
        return self.do_open(self.guarded, req, context=self._context)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer, not an invitation to post elsewhere


def opener(*, allow_loopback: bool) -> urllib.request.OpenerDirector:
    """urllib without proxies (the guard checks the partner's address, not a proxy's), without
    redirects, connecting only to checked addresses."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _NoRedirects,
        _GuardedHTTP(allow_loopback),
        _GuardedHTTPS(allow_loopback),
    )
