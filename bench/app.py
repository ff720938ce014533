"""The application under benchmark: the real app plus one trivial route, the baseline.

gunicorn "bench.app:create_bench_app()"   (the route exists only here, never in wsgi.create_app)
"""

from __future__ import annotations

from flask import Flask

from wsgi import create_app

TRIVIAL_PATH = "/_bench/trivial"


def create_bench_app() -> Flask:
    app = create_app()

    @app.get(TRIVIAL_PATH)
    def bench_trivial():
        return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}

    return app
