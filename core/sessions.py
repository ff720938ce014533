"""The signed-cookie session, paid for only by requests that carry or write one.

Flask builds an itsdangerous serializer (key derivation set-up included) on every request, and
reads six cookie settings on every response, even for a visitor with no cookie at all: ≈ 15% of
a trivial request. A phone scanning a stamp or opening a product page has no cookie.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin


class LazyCookieSessionInterface(SecureCookieSessionInterface):
    """Same cookie, same signing, same behaviour; no work when the request has no cookie and
    the view neither reads nor writes the session."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not app.secret_key:
            return None
        if "HTTP_COOKIE" not in request.environ:  # no cookie header: nothing to verify
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified:  # nothing to write or delete
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_app(app: Flask, **_: Any) -> None:
    app.session_interface = LazyCookieSessionInterface()
