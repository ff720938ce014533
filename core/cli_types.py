"""Click parameter types that read numbers the one way (core.numbers): `type=int` would accept
'٣' and 25-digit ids that overflow the database."""

from __future__ import annotations

from typing import Any

import click

from core.numbers import DB_INT_MAX, parse_int


class WholeNumber(click.ParamType):
    name = "integer"

    def __init__(self, minimum: int = 0, maximum: int = DB_INT_MAX) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        number = parse_int(value if isinstance(value, int) else str(value), minimum=self.minimum)
        if number is None or number > self.maximum:
            self.fail(
                f"{value!r}: a whole number from {self.minimum} to {self.maximum}", param, ctx
            )
        return number


ID = WholeNumber(minimum=1)
