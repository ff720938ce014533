"""`flask ocop …` commands. Each command is one unit of work: one commit at its edge."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import ngettext

from core.cli_types import ID
from core.db import db, unit_of_work

ocop_cli = AppGroup("ocop", help="Chứng nhận OCOP: hết hạn, sắp hết hạn.")


def _parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("dùng dạng YYYY-MM-DD, ví dụ 2027-03-16") from exc


@ocop_cli.command("expire")
@click.option(
    "--today",
    "today_text",
    default=None,
    help="Ngày xét (YYYY-MM-DD); mặc định là hôm nay theo giờ Việt Nam.",
)
def expire_command(today_text: str | None) -> None:
    """Mark certificates whose validity has ended as expired (run daily)."""
    from cooperatives.ocop import expire_lapsed

    today = _parse_day(today_text)
    with unit_of_work():
        count = expire_lapsed(today)
    click.echo(
        ngettext(
            "%(n)s giấy chứng nhận OCOP đã chuyển sang hết hạn.",
            "%(n)s giấy chứng nhận OCOP đã chuyển sang hết hạn.",
            count,
            n=count,
        )
    )


@ocop_cli.command("expiring")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650))
@click.option("--province", "province_code", default=None, type=ID)
def expiring_command(days: int, province_code: int | None) -> None:
    """List valid certificates that end within DAYS days (read-only)."""
    from cooperatives.models import Product
    from cooperatives.ocop import expiring

    certificates = expiring(province_code=province_code, within_days=days)
    for certificate in certificates:
        product = db.session.get(Product, certificate.product_id)
        name = product.name_vi if product else str(certificate.product_id)
        click.echo(
            f"{certificate.valid_until:%d/%m/%Y}\t{certificate.stars}★\t"
            f"{certificate.decision_number}\t{name}"
        )
    click.echo(
        ngettext(
            "%(n)s giấy chứng nhận hết hạn trong %(days)s ngày tới.",
            "%(n)s giấy chứng nhận hết hạn trong %(days)s ngày tới.",
            len(certificates),
            n=len(certificates),
            days=days,
        )
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(ocop_cli)
