"""`flask shop …`: rebuild the search index, expire unconfirmed orders and stale holds."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from core.cli_types import WholeNumber
from core.db import unit_of_work

shop_cli = AppGroup("shop", help="Shop maintenance.")


@shop_cli.command("reindex")
def reindex() -> None:
    """Rebuild the search index of every product."""
    from shop.search.services import reindex_all

    with unit_of_work():
        done = reindex_all()
    click.echo(f"indexed {done} products")


@shop_cli.command("expire")
@click.option(
    "--minutes",
    type=WholeNumber(minimum=1, maximum=60 * 24 * 365),
    default=None,
    help="Default: VIETQR_PAY_MINUTES, the time the transfer page gives a buyer to pay.",
)
def expire(minutes: int | None) -> None:
    """Cancel unpaid orders older than --minutes (stock comes back) and drop expired holds."""
    from shop.inventory.services import purge_expired_reservations
    from shop.orders.services import expire_unconfirmed

    if minutes is None:
        minutes = current_app.config["VIETQR_PAY_MINUTES"]
    with unit_of_work():
        orders = expire_unconfirmed(minutes)
        holds = purge_expired_reservations()
    click.echo(f"expired {orders} order parts, {holds} holds")


def init_app(app: Flask) -> None:
    app.cli.add_command(shop_cli)
