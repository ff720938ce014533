"""`flask payments …`: check that order totals and the ledger agree."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

payments_cli = AppGroup("payments", help="Payments and the money ledger.")


@payments_cli.command("verify")
def verify() -> None:
    """Compare order totals with ledger sums per order and producer; exit 1 on a disagreement."""
    from shop.payments.verify import first_disagreement

    problem = first_disagreement()
    if problem:
        click.echo(f"disagreement: {problem}", err=True)
        sys.exit(1)
    click.echo("ledger agrees with the orders")


def init_app(app: Flask) -> None:
    app.cli.add_command(payments_cli)
