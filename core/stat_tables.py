"""The accessible table beside each statistics chart, rendered in Python (a page has hundreds
of cells; one join is much cheaper than a template loop per cell).

Each numeric cell carries its raw value in `data-value` (tests and scripts read it) and shows it
formatted for the reader's language; rows of map tables carry `data-province` and link to the
page filtered to that province.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from core.statistics import Table


def table_html(
    table: Table,
    cells: Sequence[Sequence[str]],
    *,
    empty: str,
    link: Callable[[int], str] | None = None,
) -> Markup:
    key = escape(table.key)
    parts = [f'<table id="table-{key}"><thead><tr>']
    for index, column in enumerate(table.columns):
        numeric = ' class="num"' if index else ""
        parts.append(f'<th scope="col"{numeric}>{escape(column)}</th>')
    parts.append("</tr></thead><tbody>")
    for index, row in enumerate(table.rows):
        code = table.codes[index] if table.codes else None
        if code is not None:
            selected = ' class="stat-selected"' if code == table.highlight else ""
            parts.append(f'<tr id="row-{key}-{code}" data-province="{code}"{selected}>')
        else:
            parts.append("<tr>")
        label = escape(row[0])
        if code is not None and link is not None:
            label = Markup(f'<a href="{escape(link(code))}">{label}</a>')  # noqa: S704 - escaped
        parts.append(f'<th scope="row">{label}</th>')
        for raw, shown in zip(row[1:], cells[index], strict=True):
            parts.append(f'<td class="num" data-value="{escape(raw)}">{escape(shown)}</td>')
        parts.append("</tr>")
    if not table.rows:
        parts.append(f'<tr><td colspan="{len(table.columns)}">{escape(empty)}</td></tr>')
    parts.append("</tbody></table>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped
