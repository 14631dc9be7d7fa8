"""Small server-rendered SVG charts for the back office: no JavaScript, no chart library.

A ``Chart`` holds the numbers once. The page draws them twice from the same object: as an SVG
picture (``role="img"`` with a ``<title>`` and a ``<desc>`` that say what it shows) and as a
table (``rows``), which is what screen readers, printouts and anyone checking a figure use.
Colour is never the only difference between series: each has its own marker shape, named in
a legend.

Only SVG presentation attributes are used (``fill``, ``stroke``), never ``style``: the
Content-Security-Policy refuses inline styles.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

# USWDS "vivid" colours, each at least 3:1 against white.
COLOURS = ["#005ea2", "#d54309", "#008817", "#8168b3", "#936f38", "#1a4480"]
INK = "#1b1b1b"
GRID = "#dfe1e2"
MARKERS = ["circle", "square", "triangle", "diamond"]

LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 52  # room for the axis labels and the legend
LABEL_ROOM = 40  # pixels an axis label needs before the labels are thinned out
WIDEST_BAR = 64


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]  # one per category; None: nothing to show


@dataclass(frozen=True)
class Axis:
    top: float
    step: float

    @property
    def ticks(self) -> list[float]:
        return [self.step * i for i in range(round(self.top / self.step) + 1)]


def axis_for(values: list[float], *, percent: bool = False) -> Axis:
    """A vertical axis from 0 with round ticks (1, 2 or 5 times a power of ten), about four
    of them; whole-number data gets whole-number ticks; rates run to 25, 50 or 100 %."""
    highest = max(values, default=0)
    if percent:
        top = next(top for top in (25.0, 50.0, 100.0) if highest <= top or top == 100)
        return Axis(top=top, step=top / 5 if top < 100 else 25.0)
    if highest <= 0:
        return Axis(top=1.0, step=1.0)
    rough = highest / 4
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    if all(float(v).is_integer() for v in values):
        step = max(step, 1)
    return Axis(top=step * math.ceil(highest / step), step=step)


@dataclass(frozen=True)
class Chart:
    """Numbers by category (x) and series. ``kind`` is ``"bar"`` or ``"line"``."""

    slug: str  # unique on the page: it names the SVG's title and description
    kind: str
    title: str
    description: str
    category_heading: str
    categories: list[str]  # the table's row headings
    series: list[Series]
    short_categories: list[str] = field(default_factory=list)  # the axis labels
    percent: bool = False
    missing: str = "–"  # what the table shows for None
    width: int = 640
    height: int = 260

    # The table ----------------------------------------------------------------------------
    def text(self, value: float | None) -> str:
        if value is None:
            return str(self.missing)
        if self.percent:
            return f"{number_format(value, decimal_pos=1)} %"
        return number_format(value, decimal_pos=0 if float(value).is_integer() else 1)

    @property
    def rows(self) -> list[dict]:
        return [
            {"label": label, "values": [self.text(s.values[i]) for s in self.series]}
            for i, label in enumerate(self.categories)
        ]

    # The picture --------------------------------------------------------------------------
    @property
    def axis(self) -> Axis:
        values = [v for s in self.series for v in s.values if v is not None]
        return axis_for(values, percent=self.percent)

    @property
    def svg(self) -> SafeString:
        return render_svg(self)

    @property
    def panels(self) -> list[dict]:
        """One smaller SVG per series (small multiples), all on this chart's axis so that
        they compare: ``[{"name": …, "svg": …}]``."""
        axis = self.axis
        panels = []
        for i, series in enumerate(self.series):
            one = replace(self, slug=f"{self.slug}-{i}", title=series.name, series=[series])
            small = replace(one, width=400, height=200)
            panels.append({"name": series.name, "svg": render_svg(small, axis=axis, colour=i)})
        return panels


def _marker(shape: str, x: float, y: float, colour: str, label: str) -> SafeString:
    tooltip = format_html("<title>{}</title>", label)
    if shape == "square":
        return format_html(
            '<rect x="{}" y="{}" width="8" height="8" fill="{}">{}</rect>',
            f"{x - 4:.1f}",
            f"{y - 4:.1f}",
            colour,
            tooltip,
        )
    if shape in ("triangle", "diamond"):
        corners = (
            [(0, -5), (-5, 4), (5, 4)]
            if shape == "triangle"
            else [(0, -5), (5, 0), (0, 5), (-5, 0)]
        )
        points = " ".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in corners)
        return format_html('<polygon points="{}" fill="{}">{}</polygon>', points, colour, tooltip)
    return format_html(
        '<circle cx="{}" cy="{}" r="4" fill="{}">{}</circle>',
        f"{x:.1f}",
        f"{y:.1f}",
        colour,
        tooltip,
    )


@dataclass(frozen=True)
class _Frame:
    """Where things go in one chart's drawing."""

    chart: Chart
    axis: Axis

    @property
    def slot(self) -> float:
        return (self.chart.width - LEFT - RIGHT) / max(len(self.chart.categories), 1)

    def x(self, index: int) -> float:
        return LEFT + self.slot * (index + 0.5)

    def y(self, value: float) -> float:
        plot = self.chart.height - TOP - BOTTOM
        return TOP + plot * (1 - min(value, self.axis.top) / self.axis.top)


def _grid(frame: _Frame) -> list[SafeString]:
    chart = frame.chart
    parts = []
    for tick in frame.axis.ticks:
        y = frame.y(tick)
        label = chart.text(tick) if not chart.percent else f"{tick:g} %"
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}"/>'
                '<text x="{}" y="{}" text-anchor="end" font-size="11" fill="{}">{}</text>',
                LEFT,
                chart.width - RIGHT,
                f"{y:.1f}",
                f"{y:.1f}",
                INK if tick == 0 else GRID,
                LEFT - 6,
                f"{y + 4:.1f}",
                INK,
                label,
            )
        )
    return parts


def _category_labels(frame: _Frame) -> list[SafeString]:
    chart = frame.chart
    labels = chart.short_categories or chart.categories
    every = max(1, math.ceil(LABEL_ROOM / frame.slot))  # thin out labels that would overlap
    return [
        format_html(
            '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="{}">{}</text>',
            f"{frame.x(i):.1f}",
            chart.height - BOTTOM + 16,
            INK,
            label,
        )
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def _legend(chart: Chart, first_colour: int) -> list[SafeString]:
    if len(chart.series) < 2:
        return []
    parts = []
    x, y = LEFT, chart.height - 12
    for i, series in enumerate(chart.series):
        colour = COLOURS[(first_colour + i) % len(COLOURS)]
        parts.append(_marker(MARKERS[i % len(MARKERS)], x + 4, y - 4, colour, series.name))
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="12" fill="{}">{}</text>',
                x + 14,
                y,
                INK,
                series.name,
            )
        )
        x += 24 + 7 * len(series.name)
    return parts


def _bars(frame: _Frame, first_colour: int) -> list[SafeString]:
    chart = frame.chart
    width = min(frame.slot * 0.8 / len(chart.series), WIDEST_BAR)
    group = width * len(chart.series)
    parts = []
    for s_index, series in enumerate(chart.series):
        colour = COLOURS[(first_colour + s_index) % len(COLOURS)]
        for i, value in enumerate(series.values):
            if value is None:
                continue
            x = frame.x(i) - group / 2 + width * s_index
            label = f"{series.name}, {chart.categories[i]}: {chart.text(value)}"
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
                    f"{x:.1f}",
                    f"{frame.y(value):.1f}",
                    f"{max(width - 1, 1):.1f}",
                    f"{frame.y(0) - frame.y(value):.1f}",
                    colour,
                    label,
                )
            )
    return parts


def _lines(frame: _Frame, first_colour: int) -> list[SafeString]:
    chart = frame.chart
    lines, markers = [], []
    for s_index, series in enumerate(chart.series):
        colour = COLOURS[(first_colour + s_index) % len(COLOURS)]
        runs: list[list[str]] = [[]]
        for i, value in enumerate(series.values):
            if value is None:  # a gap: no line across a week with nothing to measure
                runs.append([])
                continue
            runs[-1].append(f"{frame.x(i):.1f},{frame.y(value):.1f}")
            label = f"{series.name}, {chart.categories[i]}: {chart.text(value)}"
            markers.append(
                _marker(MARKERS[s_index % len(MARKERS)], frame.x(i), frame.y(value), colour, label)
            )
        lines += [
            format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>',
                " ".join(points),
                colour,
            )
            for points in runs
            if len(points) > 1
        ]
    return lines + markers  # markers on top of every line


def render_svg(chart: Chart, *, axis: Axis | None = None, colour: int = 0) -> SafeString:
    """The chart as an inline ``<svg>`` that scales to its container's width."""
    frame = _Frame(chart=chart, axis=axis or chart.axis)
    draw: Callable[[_Frame, int], list[SafeString]] = _lines if chart.kind == "line" else _bars
    parts = [*_grid(frame), *draw(frame, colour), *_category_labels(frame)]
    parts += _legend(chart, colour)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" viewBox="0 0 {} {}" '
        'aria-labelledby="{}-title {}-desc" font-family="sans-serif">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        chart.width,
        chart.height,
        chart.slug,
        chart.slug,
        chart.slug,
        chart.title,
        chart.slug,
        chart.description,
        mark_safe("".join(parts)),  # noqa: S308 - every part was built with format_html  # nosec B308, B703
    )
