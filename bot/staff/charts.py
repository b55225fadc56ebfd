"""Bar-chart geometry for server-rendered SVG (templates/_charts.html draws it).

Only numbers and positions are computed here; the template escapes every label. The charts
have one series each, so no meaning rests on colour; the page shows the same numbers in a table.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Sequence

WIDTH = 720
LABEL_CHARS = 34


@dataclass(frozen=True)
class Bar:
    """One bar: its box, its label, its value and whether its labels are drawn."""

    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    show_label: bool


@dataclass(frozen=True)
class Tick:
    """A value on the value axis and its position."""

    position: float
    value: int


@dataclass(frozen=True)
class Chart:
    """An SVG chart's size, bars and axis."""

    width: int
    height: int
    bars: List[Bar]
    ticks: List[Tick]
    # Plot area: where bars start (vertical: the baseline's y; horizontal: the bars' left x).
    origin: float
    extent: float


def nice_max(largest: int) -> int:
    """Returns the axis maximum: ``largest`` rounded up to 1, 2, 5 or 10 times a power of ten (at least 1)."""
    if largest <= 1:
        return 1
    power = 10 ** math.floor(math.log10(largest))
    for step in (1, 2, 5, 10):
        if step * power >= largest:
            return step * power
    return 10 * power  # unreachable; keeps type checkers calm


def _ticks(top: int) -> List[int]:
    """Whole-number ticks from 0 to ``top`` (a :func:`nice_max` value) in 5, 4, 2 or 1 equal steps."""
    divisions = next(d for d in (5, 4, 2, 1) if top % d == 0)
    return [top * n // divisions for n in range(divisions + 1)]


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    """Shortens a label to ``limit`` characters with an ellipsis (the table has it in full)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def vertical(labels: Sequence[str], values: Sequence[int], height: int = 260, max_labels: int = 10) -> Chart:
    """Columns side by side (e.g. one per day), with at most ``max_labels`` labels under them.

    Args:
        labels: a label per column.
        values: a non-negative whole number per column.
        height: the chart's height in SVG units.
        max_labels: how many column labels fit under the chart; the others are left out.
    """
    if len(labels) != len(values):
        raise ValueError("one label per value")
    left, right, top, bottom = 44, 8, 20, 36
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    count = max(1, len(values))
    slot = plot_w / count
    scale_top = nice_max(max(values, default=0))
    every = max(1, math.ceil(count / max_labels))
    bars = []
    for index, (label, value) in enumerate(zip(labels, values)):
        bar_h = plot_h * value / scale_top
        bars.append(Bar(
            x=round(left + index * slot + slot * 0.15, 2), y=round(top + plot_h - bar_h, 2),
            width=round(slot * 0.7, 2), height=round(bar_h, 2), label=label, value=value,
            show_label=index % every == 0,
        ))
    ticks = [Tick(round(top + plot_h - plot_h * v / scale_top, 2), v) for v in _ticks(scale_top)]
    return Chart(WIDTH, height, bars, ticks, origin=top + plot_h, extent=left)


def horizontal(labels: Sequence[str], values: Sequence[int], row: int = 30) -> Chart:
    """Bars one under another (e.g. the most frequent intents), label on the left, value on the right."""
    if len(labels) != len(values):
        raise ValueError("one label per value")
    left, right, top, bottom = 260, 60, 8, 8
    plot_w = WIDTH - left - right
    # No value axis here (each bar carries its number), so the longest bar fills the width.
    scale_top = max(1, max(values, default=0))
    bars = [
        Bar(x=left, y=top + index * row + row * 0.15, width=round(plot_w * value / scale_top, 2),
            height=round(row * 0.7, 2), label=shorten(label), value=value, show_label=True)
        for index, (label, value) in enumerate(zip(labels, values))
    ]
    height = top + bottom + row * max(1, len(bars))
    return Chart(WIDTH, height, bars, [], origin=left, extent=left + plot_w)
