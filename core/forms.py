"""Small form helpers shared by every package."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice

from core.errors import DomainError


def options(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value=value, label=label) for value, label in pairs]


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
