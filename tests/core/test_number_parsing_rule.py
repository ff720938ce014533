"""The rule "numbers from the outside world go through core.numbers" is checked, not hoped for.

`str.isdigit()` and regex `\\d` accept "²" and other Unicode digits; `int()` as a query, form or
click type accepts "٣" and 25-digit ids that overflow the database; WTForms' IntegerField does
the same. Any of these coming back in application code fails here, with the place to fix.
"""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

import click
import pytest

from core.cli_types import ID, WholeNumber
from core.forms import WholeNumberField, coerce_int

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "accounts", "cooperatives", "traceability", "shop", "partners")
ALLOWED_FILES = {"core/numbers.py"}  # the one place that reads digits
DIGIT_METHODS = {"isdigit", "isnumeric", "isdecimal"}
LOOSE_FIELDS = {"IntegerField", "DecimalField", "FloatField", "IntegerRangeField"}


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative not in ALLOWED_FILES:
                yield relative, path.read_text(encoding="utf-8")


def offences(source: str) -> list[tuple[int, str]]:
    found = []
    tokens = [
        t
        for t in tokenize.generate_tokens(io.StringIO(source).readline)
        if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)
    ]
    for i, token in enumerate(tokens):
        before = tokens[i - 1].string if i else ""
        after = tokens[i + 1].string if i + 1 < len(tokens) else ""
        if token.type == tokenize.NAME and token.string in DIGIT_METHODS and before == ".":
            found.append((token.start[0], f".{token.string}() accepts Unicode digits"))
        elif token.type == tokenize.NAME and token.string in LOOSE_FIELDS and after != "=":
            found.append((token.start[0], f"{token.string} accepts Unicode digits"))
        elif (
            token.type == tokenize.NAME
            and token.string == "type"
            and after == "="
            and i + 2 < len(tokens)
            and tokens[i + 2].string in ("int", "float")
        ):
            found.append((token.start[0], f"type={tokens[i + 2].string} reads any digits"))
        elif token.type == tokenize.STRING and "\\d" in token.string:
            prefix = token.string.split(token.string.lstrip("rRbBuUfF")[0], 1)[0].lower()
            if "r" in prefix or "\\\\d" not in token.string:
                found.append((token.start[0], "\\d in a pattern matches Unicode digits"))
    return found


def test_no_loose_number_reading_in_application_code():
    problems = [
        f"{path}:{line}: {why} (use core.numbers.parse_int/parse_id, core.forms.coerce_int, "
        "core.cli_types.ID or [0-9])"
        for path, source in _sources()
        for line, why in offences(source)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "source",
    [
        "ok = text.isdigit()\n",
        "page = request.args.get('page', type=int)\n",
        "PATTERN = re.compile(r'^\\d{6}$')\n",
        "from wtforms import IntegerField\n",
        "@click.option('--id', type=int)\ndef f(id): pass\n",
    ],
)
def test_the_check_sees_each_kind_of_offence(source):
    assert offences(source)


def test_the_check_ignores_comments_and_ascii_patterns():
    assert not offences("# text.isdigit() is wrong\nPATTERN = r'^[0-9]{6}$'\n")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("42", 42), (" 7 ", 7), ("²", None), ("٣", None), ("9" * 25, None), ("", None), ("x", None)],
)
def test_coerce_int_reads_ascii_digits_in_range_only(raw, expected):
    assert coerce_int(raw) == expected


def test_whole_number_field_keeps_what_was_typed_and_reads_only_ascii(app):
    from flask_wtf import FlaskForm
    from werkzeug.datastructures import MultiDict

    class Form(FlaskForm):
        class Meta:
            csrf = False

        count = WholeNumberField()

    with app.test_request_context():
        good = Form(formdata=MultiDict({"count": "12"}))
        bad = Form(formdata=MultiDict({"count": "١٢"}))
        assert good.count.data == 12
        assert bad.count.data is None and bad.count._value() == "١٢"


@pytest.mark.parametrize("raw", ["٣", "²", "9" * 25, "-1", "0", "x"])
def test_cli_ids_refuse_unicode_digits_and_overflow(raw):
    with pytest.raises(click.BadParameter):
        ID.convert(raw, None, None)
    assert ID.convert("42", None, None) == 42
    assert WholeNumber().convert("0", None, None) == 0
