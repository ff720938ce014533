"""The bare baseline: a Flask app with no extension, one route returning "ok".

gunicorn "bench.bare_app:create_bare_app()"   (started by the web benchmarks next to the app, with
the same gunicorn settings, so every ratio can be given against plain Flask as well)
"""

from __future__ import annotations

from flask import Flask

BARE_PATH = "/"


def create_bare_app() -> Flask:
    app = Flask("bare")

    @app.get(BARE_PATH)
    def ok():
        return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.get("/healthz")
    def healthz():  # the harness waits for it before measuring
        return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}

    return app
