"""Charts as inline SVG, drawn on the server: nothing to download, they work offline and print.

Every chart is a `<figure data-chart=…>` holding the picture and a table of its figures
(for screen readers, for printing exact numbers, and for tests); each bar and slice also
carries its figures as `data-` attributes. Every label is escaped: labels are user data.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 600, 220
LEFT, BOTTOM, TOP = 36, 28, 16
MAX_AXIS_LABELS = 10
PALETTE = [
    "#2f6fb0",
    "#e07b39",
    "#3a9d5d",
    "#c0392b",
    "#8e6bbf",
    "#8c6d31",
    "#d45d9e",
    "#7f8c8d",
    "#17a2b8",
    "#b5a000",
]


@dataclass(frozen=True, slots=True)
class Item:
    """A category or a series: its code (in data attributes) and what people read."""

    code: str
    label: str


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _attrs(**values: object) -> Markup:
    return Markup(" ").join(
        Markup('{}="{}"').format(name.replace("_", "-"), value) for name, value in values.items()
    )


def _empty(name: str, title: str, empty: str) -> Markup:
    return Markup(
        '<figure class="chart" data-chart="{}" data-total="0"><figcaption>{}</figcaption>'
        '<p class="empty">{}</p></figure>'
    ).format(name, title, empty)


def _legend(series: Sequence[Item]) -> Markup:
    entries = Markup("").join(
        Markup('<li><span class="swatch" style="background:{}"></span>{}</li>').format(
            colour(index), item.label
        )
        for index, item in enumerate(series)
    )
    return Markup('<ul class="legend">{}</ul>').format(entries)


def _table(
    categories: Sequence[Item],
    series: Sequence[Item],
    values: Mapping[str, Mapping[str, int]],
    summary: str,
) -> Markup:
    head = "".join(f"<th>{escape(item.label)}</th>" for item in series)
    codes = [escape(item.code) for item in series]
    rows = []
    for category in categories:
        found = values.get(category.code, {})
        cells = "".join(
            f'<td data-series="{code}" data-value="{value}">{value}</td>'
            for item, code in zip(series, codes, strict=True)
            for value in [int(found.get(item.code, 0))]
        )
        rows.append(
            f'<tr data-category="{escape(category.code)}"><th>{escape(category.label)}</th>'
            f"{cells}</tr>"
        )
    return Markup(
        f'<details class="figures"><summary>{escape(summary)}</summary><table><thead><tr>'
        f"<th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
    )


def _scale_top(largest: int) -> int:
    """A round axis maximum at or above `largest`: 1, 2, 5, 10, 20, 50, …"""
    if largest <= 0:
        return 1
    power = int(10 ** math.floor(math.log10(largest)))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= largest)


def bars(
    name: str,
    title: str,
    categories: Sequence[Item],
    series: Sequence[Item],
    values: Mapping[str, Mapping[str, int]],
    empty: str,
    summary: str = "Figures",
) -> Markup:
    """Vertical bars, one per category, stacked by series (one series: plain bars)."""
    totals = [sum(values.get(c.code, {}).get(s.code, 0) for s in series) for c in categories]
    if not categories or sum(totals) == 0:
        return _empty(name, title, empty)
    top = _scale_top(max(totals))
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    slot = plot_w / len(categories)
    bar_w = max(2.0, slot * 0.7)
    every = math.ceil(len(categories) / MAX_AXIS_LABELS)
    shapes: list[str] = [
        Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" class="axis"/>').format(
            LEFT, HEIGHT - BOTTOM, WIDTH, HEIGHT - BOTTOM
        ),
        Markup('<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>').format(
            LEFT - 4, TOP + 4, top
        ),
    ]
    # Plain strings with each value escaped: thousands of `Markup.format` calls are slow.
    labels = [(escape(item.code), escape(item.label)) for item in series]
    for index, category in enumerate(categories):
        x = LEFT + index * slot + (slot - bar_w) / 2
        base = float(HEIGHT - BOTTOM)
        code, label = escape(category.code), escape(category.label)
        found = values.get(category.code, {})
        for number, item in enumerate(series):
            value = int(found.get(item.code, 0))
            if not value:
                continue
            height = plot_h * value / top
            base -= height
            series_code, series_label = labels[number]
            shapes.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{height:.1f}" '
                f'fill="{colour(number)}" data-category="{code}" data-series="{series_code}" '
                f'data-value="{value}"><title>{label} · {series_label}: {value}</title></rect>'
            )
        if index % every == 0:
            shapes.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" class="tick" '
                f'text-anchor="middle">{label}</text>'
            )
    svg = Markup(
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}" class="chart-svg">{}</svg>'
    ).format(WIDTH, HEIGHT, title, Markup("".join(shapes)))
    legend = _legend(series) if len(series) > 1 else Markup("")
    return Markup(
        '<figure class="chart" data-chart="{}" data-total="{}"><figcaption>{}</figcaption>'
        "{}{}{}</figure>"
    ).format(name, sum(totals), title, svg, legend, _table(categories, series, values, summary))


def donut(
    name: str,
    title: str,
    slices: Sequence[tuple[Item, int]],
    empty: str,
    centre: str = "",
    summary: str = "Figures",
) -> Markup:
    """A ring cut into slices by value; `centre` (or the total) written in the middle."""
    total = sum(value for _, value in slices)
    if total == 0:
        return _empty(name, title, empty)
    radius, stroke, size = 60, 26, 180
    circumference = 2 * math.pi * radius
    offset = 0.0
    arcs = []
    for index, (item, value) in enumerate(slices):
        if not value:
            continue
        length = circumference * value / total
        arcs.append(
            Markup(
                '<circle r="{}" cx="{}" cy="{}" fill="none" stroke="{}" stroke-width="{}" '
                'stroke-dasharray="{:.2f} {:.2f}" stroke-dashoffset="{:.2f}" '
                'transform="rotate(-90 {} {})" {}><title>{}: {}</title></circle>'
            ).format(
                radius,
                size / 2,
                size / 2,
                colour(index),
                stroke,
                length,
                circumference - length,
                -offset,
                size / 2,
                size / 2,
                _attrs(data_category=item.code, data_value=value),
                item.label,
                value,
            )
        )
        offset += length
    middle = Markup(
        '<text x="{}" y="{}" text-anchor="middle" dominant-baseline="middle" class="centre">'
        "{}</text>"
    ).format(size / 2, size / 2, centre or total)
    svg = Markup(
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}" class="chart-svg donut">{}{}</svg>'
    ).format(size, size, title, Markup("").join(arcs), middle)
    items = [item for item, _ in slices]
    values = {item.code: {"n": value} for item, value in slices}
    table = _table(items, [Item("n", title)], values, summary)
    return Markup(
        '<figure class="chart" data-chart="{}" data-total="{}"><figcaption>{}</figcaption>'
        "{}{}{}</figure>"
    ).format(name, total, title, svg, _legend(items), table)
