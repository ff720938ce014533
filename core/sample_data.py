"""Demo and benchmark data, registered by each package in its `init_app` (so in the direction
order: a package's data may build on the packages below it), and the commands that load it:
`flask seed-demo`, `flask demo-logins`, `flask bench-data`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app

from core.db import unit_of_work

EXTENSION = "sample_data"


def _sets(app: Flask) -> dict[str, list[tuple[str, Callable[..., Any]]]]:
    return app.extensions.setdefault(EXTENSION, {"demo": [], "logins": [], "bench": []})


def register_demo(
    app: Flask,
    package: str,
    seed: Callable[[], str | None],
    logins: Callable[[], list[str]] | None = None,
) -> None:
    """`seed()` adds the package's demo data (idempotent, flushes, never commits); `logins()`
    lists the demo accounts to sign in with."""
    _sets(app)["demo"].append((package, seed))
    if logins is not None:
        _sets(app)["logins"].append((package, logins))


def register_bench_data(app: Flask, package: str, generate: Callable[..., str | None]) -> None:
    """`generate(producers=…, products=…, stamps=…)` adds the package's synthetic data."""
    _sets(app)["bench"].append((package, generate))


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @unit_of_work()
    def seed_demo() -> None:
        """Load the demo data (idempotent: does nothing for parts already there)."""
        for name, seed in _sets(current_app)["demo"]:
            summary = seed()
            click.echo(f"{name}: {summary or 'ok'}")

    @app.cli.command("demo-logins")
    def demo_logins() -> None:
        """Print the demo accounts to sign in with."""
        for _name, logins in _sets(current_app)["logins"]:
            for line in logins():
                click.echo(line)

    @app.cli.command("bench-data")
    @click.option("--producers", default=1000, show_default=True)
    @click.option("--products", default=100_000, show_default=True)
    @click.option("--stamps", default=0, show_default=True, help="stamps for the scan benchmark")
    def bench_data(producers: int, products: int, stamps: int) -> None:
        """Generate a large synthetic catalog for benchmarks (fast bulk inserts)."""
        options = {"producers": producers, "products": products, "stamps": stamps}
        for name, generate in _sets(current_app)["bench"]:
            summary = generate(**options)
            click.echo(f"{name}: {summary or 'ok'}")
