"""The SVG charts: bars as tall as their values, nothing drawn for no data, labels escaped."""

import re

from server.console.charts import Item, bars, donut

DAYS = [Item("2026-11-01", "11-01"), Item("2026-11-02", "11-02"), Item("2026-11-03", "11-03")]
GRIDS = [Item("G1", "G1"), Item("G2", "G2")]


def _rects(svg: str) -> list[dict[str, str]]:
    return [
        dict(re.findall(r'([\w-]+)="([^"]*)"', tag)) for tag in re.findall(r"<rect [^>]*>", svg)
    ]


def test_bars_are_as_tall_as_their_values_and_stack_by_series() -> None:
    values = {"2026-11-01": {"G1": 2, "G2": 3}, "2026-11-03": {"G1": 10}}
    html = str(bars("visits", "Visits", DAYS, GRIDS, values, empty="none"))
    rects = _rects(html)
    drawn = {(r["data-category"], r["data-series"]): int(r["data-value"]) for r in rects}
    assert drawn == {("2026-11-01", "G1"): 2, ("2026-11-01", "G2"): 3, ("2026-11-03", "G1"): 10}
    height = {(r["data-category"], r["data-series"]): float(r["height"]) for r in rects}
    # Proportional: 10 is five times 2; a stack of 2 + 3 is half of 10.
    assert abs(height["2026-11-03", "G1"] - 5 * height["2026-11-01", "G1"]) < 0.2
    first_day = height["2026-11-01", "G1"] + height["2026-11-01", "G2"]
    assert abs(first_day * 2 - height["2026-11-03", "G1"]) < 0.2
    # The figures table has every category, zeros included.
    assert re.findall(r'data-category="([^"]+)"><th>', html) == [d.code for d in DAYS]
    assert 'data-series="G2" data-value="0"' in html
    assert 'data-chart="visits" data-total="15"' in html


def test_no_data_draws_no_chart_but_says_so() -> None:
    html = str(bars("visits", "Visits", DAYS, GRIDS, {}, empty="本期无数据"))
    assert "<svg" not in html and "本期无数据" in html and 'data-total="0"' in html
    assert "<svg" not in str(bars("visits", "Visits", [], [], {}, empty="none"))
    assert "<svg" not in str(donut("levels", "Levels", [(Item("grid", "网格"), 0)], empty="x"))


def test_labels_are_escaped() -> None:
    evil = '<script>alert("x")</script>'
    categories = [Item('a"b', evil)]
    html = str(bars("c", evil, categories, [Item("s", evil)], {'a"b': {"s": 1}}, empty="-"))
    html += str(donut("d", evil, [(Item("<i>", evil), 2)], empty="-", centre=evil))
    assert "<script>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert 'data-category="a&#34;b"' in html


def test_donut_slices_share_the_ring_by_value() -> None:
    slices = [(Item("resolved", "已化解"), 3), (Item("open", "未化解"), 1)]
    html = str(donut("resolution", "化解率", slices, empty="-", centre="75%"))
    dashes = [float(length) for length in re.findall(r'stroke-dasharray="([\d.]+) [\d.]+"', html)]
    assert len(dashes) == 2 and abs(dashes[0] - 3 * dashes[1]) < 0.05
    assert "75%" in html and 'data-total="4"' in html
    assert 'data-category="resolved" data-value="3"' in html
