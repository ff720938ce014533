"""Small server-rendered SVG charts: horizontal bars and lines. No JavaScript, nothing fetched.

Each chart is an image (`role="img"`, a <title>) whose numbers are also in the table the page
shows beside it; the chart only makes them quicker to read. Sizes are in viewBox units: the SVG
scales to the width of a phone.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 320
PALETTE = ("#1f6f43", "#c0641a", "#2d5fa8", "#8a3f8f", "#6b6b1f")  # AA on white for text
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2")  # series stay apart without colour


def _number(value: float) -> str:
    """1234567 → '1.234.567' (Vietnamese grouping); numbers in charts are whole counts."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def _attr(text: object) -> str:
    return str(escape(str(text)))


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str, uid: str) -> Markup:
    """One horizontal bar per label (long Vietnamese names fit on a phone)."""
    row, top, label_width = 26, 6, 128
    height = top * 2 + row * max(len(labels), 1)
    biggest = max([v for v in values if v is not None] or [0]) or 1
    room = WIDTH - label_width - 52
    parts = [
        f'<svg class="chart chart-bar" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{_attr(uid)}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{_attr(uid)}-title">{escape(title)}</title>',
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + index * row
        length = 0 if not value else max(2.0, room * float(value) / biggest)
        short = label if len(label) <= 22 else label[:21] + "…"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 17}" text-anchor="end" class="chart-label">'
            f"{escape(short)}</text>"
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {_number(value or 0)}</title></rect>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + 17}" class="chart-value">'
            f"{_number(value or 0)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    uid: str,
) -> Markup:
    """Lines over time (days or months); the first and last labels and the peak are written."""
    height, left, right, top, bottom = 170, 44, 8, 10, 40
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    count = max(len(labels), 1)
    biggest = max([v for _name, values in series for v in values if v is not None] or [0]) or 1
    step = plot_w / max(count - 1, 1)

    def x(i: int) -> float:
        return left + (step * i if count > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * float(v or 0) / biggest

    parts = [
        f'<svg class="chart chart-line" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{_attr(uid)}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{_attr(uid)}-title">{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{WIDTH - right}" y2="{top + plot_h}" '
        'class="chart-axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="chart-axis"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" class="chart-label">'
        f"{_number(biggest)}</text>",
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="chart-label">0</text>',
    ]
    if labels:
        parts.append(
            f'<text x="{x(0):.1f}" y="{top + plot_h + 16}" class="chart-label">'
            f"{escape(labels[0])}</text>"
        )
        if count > 1:
            parts.append(
                f'<text x="{x(count - 1):.1f}" y="{top + plot_h + 16}" text-anchor="end" '
                f'class="chart-label">{escape(labels[-1])}</text>'
            )
    legend_x = left
    for index, (name, values) in enumerate(series):
        colour, dash = PALETTE[index % len(PALETTE)], DASHES[index % len(DASHES)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if len(values) == 1:
            parts.append(f'<circle cx="{x(0):.1f}" cy="{y(values[0]):.1f}" r="3" fill="{colour}"/>')
        else:
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"'
                f"{dash_attr}><title>{escape(name)}</title></polyline>"
            )
        if len(series) > 1:
            ly = height - 8
            parts.append(
                f'<line x1="{legend_x}" y1="{ly - 4}" x2="{legend_x + 16}" y2="{ly - 4}" '
                f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
                f'<text x="{legend_x + 20}" y="{ly}" class="chart-label">{escape(name)}</text>'
            )
            legend_x += 24 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped
