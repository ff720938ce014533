"""Small form helpers shared by every package."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice, StringField

from core.errors import DomainError
from core.numbers import parse_int


def options(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value=value, label=label) for value, label in pairs]


def coerce_int(value: Any) -> int | None:
    """A select's or text box's value as an int (ASCII digits, database range); a placeholder
    or garbage becomes None. Use it as `coerce=` instead of `int` (which accepts Unicode digits
    and any size)."""
    if isinstance(value, bool):
        return None
    return parse_int(value if isinstance(value, int) else str(value or ""))


class WholeNumberField(StringField):
    """WTForms' IntegerField accepts '٣' and numbers past the database's range: this field reads
    with core.numbers.parse_int. `data` is the int, or None when empty or not a number (the raw
    text stays in `raw_data`, so the form re-renders what was typed)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]) if valuelist else ""
        self.data = parse_int(text) if text.strip() else None

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else str(self.data)


class ServiceForm(FlaskForm):
    """A form whose rules live in a service: it shows the service's DomainError field by field.

    CSRFProtect checks every POST app-wide (templates add the token), so the form skips its own.
    """

    class Meta:
        csrf = False

    def show_errors(self, error: DomainError) -> None:
        show_errors(self, error)


def show_errors(form: FlaskForm, error: DomainError) -> None:
    """A service's messages next to their fields; others, or the general message, on top."""
    placed = False
    for name, message in error.fields.items():
        field = form._fields.get(name)
        if field is None:
            form.form_errors.append(str(message))
        else:
            field.errors = [*list(field.errors), str(message)]
            placed = True
    if not placed and not form.form_errors:
        form.form_errors.append(str(error.message))
