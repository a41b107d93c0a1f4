"""Inline SVG charts generated in Python: no JavaScript, no CDN, readable offline and in print.

Each function returns one ``<svg>`` element as a string, with every text escaped, a ``<title>``
for screen readers, and the data values in ``<title>`` tooltips of the marks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

__all__ = ["PALETTE", "Bar", "Point", "bar_chart", "grouped_bars", "line_chart", "timeline"]

#: Colour-blind-safe palette (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
STATE_COLOURS = {"frustration": "#D55E00", "confusion": "#E69F00", "anxiety": "#CC79A7",
                 "disappointment": "#0072B2", "satisfaction": "#009E73", "neutral": "#999999"}

_FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


@dataclass(frozen=True)
class Bar:
    """One bar: label, value and optional interval."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Point:
    """One timeline mark."""

    at: datetime
    value: float
    colour: str
    size: float = 4.0
    label: str = ""
    shape: str = "circle"


def _open(width: int, height: int, title: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="100%" style="max-width:{width}px;{_FONT}" role="img" '
            f'class="chart"><title>{escape(title)}</title>']


def _fmt(value: float, percent: bool) -> str:
    return f"{value * 100:.0f}%" if percent else f"{value:.2f}"


def _nice_range(values: Sequence[float], percent: bool) -> tuple[float, float]:
    if percent:
        return 0.0, 1.0
    low, high = min([*values, 0.0]), max([*values, 0.0])
    if high == low:
        high = low + 1.0
    pad = (high - low) * 0.1
    return low - (pad if low < 0 else 0), high + pad


def line_chart(series: dict[str, list[tuple[str, float | None]]], *, title: str,
               percent: bool = True, width: int = 760, height: int = 260) -> str:
    """Lines over shared x labels (e.g. weeks); ``None`` values leave gaps."""
    labels = next(iter(series.values()), [])
    xs = [label for label, _ in labels]
    values = [v for points in series.values() for _, v in points if v is not None]
    low, high = _nice_range(values or [0.0], percent)
    left, right, top, bottom = 48, 190, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    out = _open(width, height, title)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    def x(i: int) -> float:
        return left + (plot_w * i / max(1, len(xs) - 1))

    for k in range(5):
        v = low + (high - low) * k / 4
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   f'stroke="#e5e7eb"/><text x="{left - 6}" y="{y(v) + 4:.1f}" font-size="11" '
                   f'text-anchor="end" fill="#555">{escape(_fmt(v, percent))}</text>')
    step = max(1, len(xs) // 8)
    for i, label in enumerate(xs):
        if i % step == 0 or i == len(xs) - 1:
            out.append(f'<text x="{x(i):.1f}" y="{height - 12}" font-size="11" '
                       f'text-anchor="middle" fill="#555">{escape(label)}</text>')
    for n, (name, points) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        path: list[str] = []
        for i, (label, point) in enumerate(points):
            if point is None:
                path.append("")
                continue
            path.append(f"{x(i):.1f},{y(point):.1f}")
            out.append(f'<circle cx="{x(i):.1f}" cy="{y(point):.1f}" r="3" fill="{colour}">'
                       f'<title>{escape(name)} {escape(label)}: {escape(_fmt(point, percent))}'
                       f'</title></circle>')
        segments = " ".join(path).split("  ")
        for segment in segments:
            if segment.strip():
                out.append(f'<polyline points="{segment.strip()}" fill="none" '
                           f'stroke="{colour}" stroke-width="2"/>')
        ly = top + 14 + n * 18
        out.append(f'<rect x="{width - right + 12}" y="{ly - 9}" width="12" height="4" '
                   f'fill="{colour}"/><text x="{width - right + 30}" y="{ly}" font-size="12" '
                   f'fill="#222">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def bar_chart(bars: Sequence[Bar], *, title: str, percent: bool = True,
              threshold: float | None = None, threshold_label: str = "",
              width: int = 720, colour: str = PALETTE[0]) -> str:
    """Horizontal bars with optional interval whiskers and a threshold line."""
    row = 26
    left, right, top = 170, 170, 10
    height = top + row * max(1, len(bars)) + 28
    values = [b.value for b in bars if b.value is not None] + [
        b.high for b in bars if b.high is not None]
    if threshold is not None:
        values.append(threshold)
    low, high = (0.0, 1.0) if percent else (min(0.0, *values) if values else 0.0,
                                            (max(values) * 1.1 if values else 1.0) or 1.0)
    plot_w = width - left - right
    out = _open(width, height, title)

    def x(v: float) -> float:
        return left + plot_w * (v - low) / (high - low)

    out.append(f'<line x1="{x(low):.1f}" x2="{x(low):.1f}" y1="{top}" '
               f'y2="{height - 24}" stroke="#9ca3af"/>')
    for i, bar in enumerate(bars):
        cy = top + i * row + row / 2
        label = bar.label if len(bar.label) <= 26 else bar.label[:25] + "…"
        out.append(f'<text x="{left - 8}" y="{cy + 4:.1f}" font-size="12" text-anchor="end" '
                   f'fill="#222">{escape(label)}</text>')
        if bar.value is None:
            out.append(f'<text x="{left + 4}" y="{cy + 4:.1f}" font-size="11" fill="#888">'
                       f'no data</text>')
            continue
        x0, x1 = sorted((x(max(low, 0.0)), x(bar.value)))
        tip = f"{bar.label}: {_fmt(bar.value, percent)}{(' ' + bar.note) if bar.note else ''}"
        out.append(f'<rect x="{x0:.1f}" y="{cy - 8:.1f}" width="{max(1.0, x1 - x0):.1f}" '
                   f'height="16" rx="2" fill="{colour}"><title>{escape(tip)}</title></rect>')
        if bar.low is not None and bar.high is not None:
            out.append(f'<line x1="{x(bar.low):.1f}" x2="{x(bar.high):.1f}" y1="{cy:.1f}" '
                       f'y2="{cy:.1f}" stroke="#111" stroke-width="1.5"/>')
        text_x = max(x1, x(bar.high) if bar.high is not None else x1) + 6
        out.append(f'<text x="{text_x:.1f}" y="{cy + 4:.1f}" font-size="11" fill="#333">'
                   f'{escape(_fmt(bar.value, percent))}{escape(bar.note and " " + bar.note)}'
                   f'</text>')
    if threshold is not None:
        tx = x(threshold)
        out.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top - 4}" y2="{height - 24}" '
                   f'stroke="#D55E00" stroke-dasharray="4 3"/><text x="{tx:.1f}" '
                   f'y="{height - 8}" font-size="11" text-anchor="middle" fill="#D55E00">'
                   f'{escape(threshold_label)}</text>')
    out.append("</svg>")
    return "".join(out)


def grouped_bars(groups: dict[str, dict[str, Bar]], *, title: str, percent: bool = True,
                 width: int = 720, height: int = 280) -> str:
    """Vertical bars grouped by category (e.g. outcome), one colour per series (e.g. cohort)."""
    series = sorted({name for group in groups.values() for name in group})
    left, right, top, bottom = 48, 150, 16, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    out = _open(width, height, title)

    def y(v: float) -> float:
        return top + plot_h * (1 - v)

    for k in range(5):
        v = k / 4
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   f'stroke="#e5e7eb"/><text x="{left - 6}" y="{y(v) + 4:.1f}" font-size="11" '
                   f'text-anchor="end" fill="#555">{escape(_fmt(v, percent))}</text>')
    slot = plot_w / max(1, len(groups))
    bar_w = min(36.0, slot * 0.8 / max(1, len(series)))
    for g, (group, bars) in enumerate(groups.items()):
        gx = left + slot * g + (slot - bar_w * len(series)) / 2
        for s, name in enumerate(series):
            bar = bars.get(name)
            bx = gx + s * bar_w
            if bar is None or bar.value is None:
                continue
            v = max(0.0, min(1.0, bar.value))
            tip = f"{name} {group}: {_fmt(bar.value, percent)} {bar.note}".strip()
            out.append(f'<rect x="{bx:.1f}" y="{y(v):.1f}" width="{bar_w - 3:.1f}" '
                       f'height="{plot_h - (y(v) - top):.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                       f'<title>{escape(tip)}</title></rect>')
            if bar.low is not None and bar.high is not None:
                cx = bx + (bar_w - 3) / 2
                out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(bar.high):.1f}" '
                           f'y2="{y(max(0.0, bar.low)):.1f}" stroke="#111"/>')
        out.append(f'<text x="{left + slot * g + slot / 2:.1f}" y="{height - 26}" '
                   f'font-size="12" text-anchor="middle" fill="#222">{escape(group)}</text>')
    for s, name in enumerate(series):
        ly = top + 14 + s * 18
        out.append(f'<rect x="{width - right + 12}" y="{ly - 10}" width="12" height="12" '
                   f'fill="{PALETTE[s % len(PALETTE)]}"/><text x="{width - right + 30}" '
                   f'y="{ly}" font-size="12" fill="#222">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def timeline(points: Sequence[Point], *, title: str, markers: Sequence[tuple[datetime, str]] = (),
             width: int = 900, height: int = 320) -> str:
    """Sentiment (-1..1) over time: one mark per touchpoint, vertical markers for events."""
    left, right, top, bottom = 48, 20, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    out = _open(width, height, title)
    times = [p.at.timestamp() for p in points] + [m.timestamp() for m, _ in markers]
    t0, t1 = (min(times), max(times)) if times else (0.0, 1.0)
    if t1 == t0:
        t1 = t0 + 3600.0

    def x(ts: float) -> float:
        return left + plot_w * (ts - t0) / (t1 - t0)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v + 1) / 2)

    for v, label in ((1.0, "+1"), (0.0, "0"), (-1.0, "−1")):
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   f'stroke="{"#9ca3af" if v == 0 else "#e5e7eb"}"/><text x="{left - 6}" '
                   f'y="{y(v) + 4:.1f}" font-size="11" text-anchor="end" fill="#555">'
                   f'{label}</text>')
    for at, label in markers:
        mx = x(at.timestamp())
        out.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{top}" y2="{top + plot_h}" '
                   f'stroke="#009E73" stroke-dasharray="3 3"><title>{escape(label)}</title>'
                   f'</line>')
    for k in range(5):
        at_label = t0 + (t1 - t0) * k / 4
        anchor = "start" if k == 0 else "end" if k == 4 else "middle"
        out.append(f'<text x="{x(at_label):.1f}" y="{height - 12}" font-size="11" '
                   f'text-anchor="{anchor}" fill="#555">'
                   f'{datetime.fromtimestamp(at_label, UTC).strftime("%Y-%m-%d")}</text>')
    previous: tuple[float, float] | None = None
    for p in sorted(points, key=lambda q: q.at):
        px, py = x(p.at.timestamp()), y(max(-1.0, min(1.0, p.value)))
        if previous is not None and p.shape == "circle":
            out.append(f'<line x1="{previous[0]:.1f}" y1="{previous[1]:.1f}" x2="{px:.1f}" '
                       f'y2="{py:.1f}" stroke="#cbd5e1"/>')
        if p.shape == "circle":
            previous = (px, py)
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{p.size:.1f}" fill="{p.colour}" '
                       f'fill-opacity="0.85"><title>{escape(p.label)}</title></circle>')
        else:
            out.append(f'<rect x="{px - 3:.1f}" y="{py - 3:.1f}" width="6" height="6" '
                       f'fill="{p.colour}"><title>{escape(p.label)}</title></rect>')
    out.append("</svg>")
    return "".join(out)
