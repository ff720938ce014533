"""`flask payments …`: check that order totals and the ledger agree; import queued statements."""

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


@payments_cli.command("import-statements")
def import_statements() -> None:
    """Import the bank statements queued for the background (the worker does it by itself;
    this is for a cron job when no worker runs)."""
    from shop.payments.reconciliation_statements import import_queued

    import_queued()
    click.echo("queued statements imported")


def init_app(app: Flask) -> None:
    app.cli.add_command(payments_cli)
