"""Server-rendered SVG charts: no script, no CDN, nothing a strict CSP blocks.

Each chart has a title and a description for assistive technology; the pages put a data table
beside it as the text alternative. Series differ in colour *and* in dash pattern, so they read
without colour too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

# Okabe-Ito colours (distinguishable with the common colour vision deficiencies).
SERIES_STYLE = {
    "accept_all": ("#0072B2", ""),
    "reject_all": ("#D55E00", "6 3"),
    "custom": ("#009E73", "2 3"),
    "withdraw": ("#CC79A7", "8 3 2 3"),
    "acknowledge": ("#7f6a00", "1 2"),
}
LABELS = {
    "accept_all": "Accept all",
    "reject_all": "Reject all",
    "custom": "Custom",
    "withdraw": "Withdraw",
    "acknowledge": "Acknowledge",
}


@dataclass(frozen=True)
class Marker:
    day: date
    label: str


def nice_ceiling(value: float) -> int:
    """The smallest 1/2/5 x 10^n at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return int(step * power)
    return int(10 * power)


def _attrs(**values: object) -> str:
    return " ".join(f'{name.replace("_", "-")}="{escape(str(v))}"' for name, v in values.items())


def _chart_start(
    chart_id: str, width: int, height: int, title: str, description: str | None = None
) -> list[str]:
    """The opening ``<svg>`` with its accessible name, and its description when it has one."""
    labelled_by = f"{chart_id}-title" + (f" {chart_id}-desc" if description is not None else "")
    parts = [
        f"<svg {_attrs(id=chart_id, viewBox=f'0 0 {width} {height}', role='img')} "
        f'aria-labelledby="{labelled_by}" class="chart">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    if description is not None:
        parts.append(f'<desc id="{chart_id}-desc">{escape(description)}</desc>')
    return parts


def _stroke(name: str) -> dict[str, str]:
    """A series' stroke attributes: its colour, and its dash pattern unless it is solid."""
    colour, dash = SERIES_STYLE.get(name, ("#333333", ""))
    return {"stroke": colour, "stroke_dasharray": dash} if dash else {"stroke": colour}


def _row_label(x: float, y: float, label: str) -> str:
    """A bar chart's row name, right-aligned against the bars."""
    return f'<text {_attrs(x=x, y=y)} class="tick" text-anchor="end">{escape(label)}</text>'


def line_chart(
    chart_id: str,
    title: str,
    days: list[date],
    series: dict[str, list[int]],
    markers: list[Marker],
    y_label: str = "Consents per day",
) -> Markup:
    width, height = 820, 320
    left, right, top, bottom = 64, 20, 24, 84
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = nice_ceiling(max((max(v) for v in series.values() if v), default=0))
    count = max(len(days), 1)

    def x(index: int) -> float:
        return left + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / peak

    parts = _chart_start(chart_id, width, height, title, _describe(days, series, markers))
    for step in range(5):  # horizontal grid and y ticks
        value = peak * step / 4
        parts.append(
            f"<line {_attrs(x1=left, x2=left + plot_w, y1=y(value), y2=y(value))} "
            'class="grid"/>'
            f'<text {_attrs(x=left - 8, y=y(value) + 4)} class="tick" text-anchor="end">'
            f"{value:g}</text>"
        )
    label_every = max(1, math.ceil(count / 8))
    for index, day in enumerate(days):
        last_label = index == count - 1 and (count - 1) % label_every >= label_every / 2
        if index % label_every == 0 or last_label:
            parts.append(
                f'<text {_attrs(x=x(index), y=top + plot_h + 18)} class="tick" '
                f'text-anchor="middle">{day:%d %b}</text>'
            )
    parts.append(
        f'<text {_attrs(x=16, y=top + plot_h / 2)} class="axis-label" text-anchor="middle" '
        f'transform="rotate(-90 16 {top + plot_h / 2})">{escape(y_label)}</text>'
        f'<text {_attrs(x=left + plot_w / 2, y=top + plot_h + 40)} class="axis-label" '
        'text-anchor="middle">Day (UTC)</text>'
        f'<line {_attrs(x1=left, x2=left, y1=top, y2=top + plot_h)} class="axis"/>'
        f"<line {_attrs(x1=left, x2=left + plot_w, y1=top + plot_h, y2=top + plot_h)} "
        'class="axis"/>'
    )
    index_of = {day: i for i, day in enumerate(days)}
    for n, marker in enumerate(markers):
        if marker.day not in index_of:
            continue
        mx = x(index_of[marker.day])
        parts.append(
            f'<line {_attrs(x1=mx, x2=mx, y1=top, y2=top + plot_h)} class="marker"/>'
            f'<text {_attrs(x=mx + 4, y=top + 12 + 12 * (n % 3))} class="marker-label">'
            f"{escape(marker.label)}</text>"
        )
    for name, values in series.items():
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline {_attrs(points=points, **_stroke(name))} class="series" fill="none"/>'
        )
    parts.append(_legend(list(series), left, height - 22))
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(names: list[str], x0: int, y0: int, swatches: bool = False) -> str:
    """A key per series: a stroke in its colour and dash (lines), or a filled square in its
    colour (bars, whose parts are filled areas)."""
    parts = ['<g class="legend">']
    for i, name in enumerate(names):
        lx = x0 + i * 150
        stroke = _stroke(name)
        if swatches:
            square = _attrs(x=lx + 7, y=y0 - 7, width=14, height=14, fill=stroke["stroke"])
            key = f'<rect {square} class="swatch"/>'
        else:
            key = f'<line {_attrs(x1=lx, x2=lx + 28, y1=y0, y2=y0, **stroke)} class="series"/>'
        parts.append(
            key + f'<text {_attrs(x=lx + 34, y=y0 + 4)} class="tick">'
            f"{escape(LABELS.get(name, name))}</text>"
        )
    parts.append("</g>")
    return "".join(parts)


def _describe(days: list[date], series: dict[str, list[int]], markers: list[Marker]) -> str:
    if not days:
        return "No data."
    totals = ", ".join(f"{LABELS.get(n, n)} {sum(v)}" for n, v in series.items())
    text = f"From {days[0]:%d %b %Y} to {days[-1]:%d %b %Y}: {totals}."
    if markers:
        text += " Document versions: " + "; ".join(f"{m.label} on {m.day:%d %b}" for m in markers)
    return text + " The table below has every value."


def share_bars(chart_id: str, title: str, rows: list[tuple[str, dict[str, int]]]) -> Markup:
    """One 100 % stacked bar per row (a document version, a region), split by action."""
    width, row_h, left = 820, 34, 150
    height = 40 + row_h * max(len(rows), 1) + 30
    plot_w = width - left - 20
    names = [n for n in SERIES_STYLE if any(counts.get(n) for _label, counts in rows)]
    parts = _chart_start(chart_id, width, height, title)
    for i, (label, counts) in enumerate(rows):
        y0 = 20 + i * row_h
        total = sum(counts.get(n, 0) for n in names) or 1
        parts.append(_row_label(left - 8, y0 + 17, label))
        offset = 0.0
        for name in names:
            part = counts.get(name, 0) / total
            if part <= 0:
                continue
            colour, _dash = SERIES_STYLE[name]
            w = plot_w * part
            parts.append(
                f"<rect {_attrs(x=left + offset, y=y0, width=w, height=row_h - 10, fill=colour)}>"
                f"<title>{escape(label)}: {escape(LABELS[name])} {part:.0%}</title></rect>"
            )
            if w > 36:
                parts.append(
                    f'<text {_attrs(x=left + offset + w / 2, y=y0 + 17)} class="bar-label" '
                    f'text-anchor="middle">{part:.0%}</text>'
                )
            offset += w
    parts.append(_legend(names, left, height - 12, swatches=True))
    parts.append("</svg>")
    return Markup("".join(parts))


def rate_bars(chart_id: str, title: str, rows: list[tuple[str, float]]) -> Markup:
    """One horizontal bar per category: the share of decisions that granted it."""
    width, row_h, left = 820, 30, 200
    height = 30 + row_h * max(len(rows), 1)
    plot_w = width - left - 80
    parts = _chart_start(chart_id, width, height, title)
    for i, (label, rate) in enumerate(rows):
        y0 = 10 + i * row_h
        parts.append(_row_label(left - 8, y0 + 15, label))
        parts.append(
            f'<rect {_attrs(x=left, y=y0, width=plot_w, height=row_h - 10)} class="track"/>'
            f"<rect {_attrs(x=left, y=y0, width=plot_w * rate, height=row_h - 10)} "
            'class="rate"/>'
            f'<text {_attrs(x=left + plot_w + 8, y=y0 + 15)} class="tick">{rate:.1%}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
