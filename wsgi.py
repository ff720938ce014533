"""Composition root: the one module that knows every domain package.

gunicorn "wsgi:create_app()"  ·  flask --app wsgi …
"""

from __future__ import annotations

import importlib
from typing import Any

import click
from flask import Flask

import accounts
import cooperatives
import core
import partners
import shop
import traceability

DOMAINS = (accounts, cooperatives, traceability, shop, partners)


def _domain_hooks(module_name: str, function: str):
    """Each domain may offer `<domain>.<module_name>.<function>()`; called in direction order."""
    for domain in DOMAINS:
        try:
            module = importlib.import_module(f"{domain.__name__}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{domain.__name__}.{module_name}":
                raise
            continue
        hook = getattr(module, function, None)
        if hook is not None:
            yield domain.__name__, hook


def _register_cli(app: Flask) -> None:
    from core.db import unit_of_work

    @app.cli.command("seed-demo")
    @unit_of_work()
    def seed_demo() -> None:
        """Load the demo data (idempotent: does nothing for parts already there)."""
        for name, hook in _domain_hooks("demo", "seed_demo"):
            summary = hook()
            click.echo(f"{name}: {summary or 'ok'}")

    @app.cli.command("demo-logins")
    def demo_logins() -> None:
        """Print the demo accounts to sign in with."""
        for _name, hook in _domain_hooks("demo", "demo_logins"):
            for line in hook():
                click.echo(line)

    @app.cli.command("bench-data")
    @click.option("--producers", default=1000, show_default=True)
    @click.option("--products", default=100_000, show_default=True)
    @click.option("--stamps", default=0, show_default=True, help="stamps for the scan benchmark")
    def bench_data(producers: int, products: int, stamps: int) -> None:
        """Generate a large synthetic catalog for benchmarks (fast bulk inserts)."""
        options = {"producers": producers, "products": products, "stamps": stamps}
        for name, hook in _domain_hooks("bench_data", "generate"):
            summary = hook(**options)
            click.echo(f"{name}: {summary or 'ok'}")


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = core.build_app(DOMAINS, overrides)
    _register_cli(app)
    return app
