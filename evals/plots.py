"""Inline SVG plots for the eval report: a confusion heatmap, latency strips and tier-share bars.

Each function returns one `<svg>` element as a string, sized by its content, with every label escaped and no
external reference (no `xmlns` URL either: inline SVG in HTML5 needs none), so the report stays one file that
opens offline. Hovering a cell, dot or bar shows its exact numbers (`<title>`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

FONT = 12
BLUE = (37, 99, 235)  # right answers: the heatmap diagonal, bars
RED = (220, 38, 38)  # confusions
ORANGE = "#ea580c"  # p95
DASH = "\u2013"  # shown where a number has no sample to stand on


def format_ms(seconds: float) -> str:
    """Milliseconds to about three significant digits: 0.42, 5.50, 12.3, 950, 1,840."""
    ms = seconds * 1000
    if ms < 10:
        return f"{ms:.2f}"
    return f"{ms:.1f}" if ms < 100 else f"{ms:,.0f}"


def quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks of an ascending, non-empty sequence."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (
        f'<svg class="plot" width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{escape(label)}" font-size="{FONT}">' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>{escape(text)}</text>'


def _tint(rgb: tuple[int, int, int], share: float) -> str:
    """`rgb` mixed into white by `share` (0 = white, 1 = full colour)."""
    r, g, b = (round(255 - (255 - c) * share) for c in rgb)
    return f"rgb({r},{g},{b})"


def _label_width(labels: Sequence[str]) -> float:
    return max((len(label) for label in labels), default=0) * FONT * 0.62 + 12


def heatmap(rows: Sequence[str], columns: Sequence[str], matrix: Sequence[Sequence[int]], title: str) -> str:
    """Rows expected, columns predicted; a cell's colour is its share of the row, blue on the diagonal (right)
    and red off it (confused), and every cell shows its count."""
    cell = 46
    left = _label_width(rows) + 22
    rise = _label_width(columns) * 0.71  # column labels are turned 45°
    top = 50 + rise
    middle = top + cell * len(rows) / 2
    body = [
        _text(left, 18, title, extra='font-weight="600" font-size="14"'),
        _text(left + cell * len(columns) / 2, 36, "predicted", "middle", 'fill="#4b5563"'),
        _text(12, middle, "expected", "middle", f'fill="#4b5563" transform="rotate(-90 12 {middle:.1f})"'),
    ]
    for j, name in enumerate(columns):
        x, y = left + j * cell + cell / 2, top - 6
        body.append(_text(x, y, name, "start", f'transform="rotate(-45 {x:.1f} {y:.1f})"'))
    for i, (name, counts) in enumerate(zip(rows, matrix, strict=False)):
        total = sum(counts)
        y = top + i * cell
        body.append(_text(left - 6, y + cell / 2 + 4, name, "end"))
        for j, count in enumerate(counts):
            share = count / total if total else 0.0
            colour = BLUE if columns[j] == name else RED
            x = left + j * cell
            tip = f"{name} → {columns[j]}: {count} ({share:.0%} of row)"
            body.append(
                f'<rect class="cell" x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{_tint(colour, share)}" '
                f'stroke="#e5e7eb"><title>{escape(tip)}</title></rect>'
            )
            ink = "#fff" if share > 0.55 else ("#111" if count else "#9ca3af")
            body.append(_text(x + cell / 2, y + cell / 2 + 4, str(count), "middle", f'class="count" fill="{ink}"'))
    legend = "colour: share of the row; blue on the diagonal (right), red off it (confused)"
    body.append(_text(left, top + cell * len(rows) + 18, legend, extra='fill="#6b7280" font-size="11"'))
    width = left + max(cell * len(columns), cell * (len(columns) - 0.5) + rise, len(title) * 8.5, len(legend) * 6.2)
    height = top + cell * len(rows) + 28
    return _svg(width + 12, height, body, title)


def _log_axis(values: Sequence[float]) -> tuple[float, float, list[float]]:
    """A log10 domain (in ms) from the 1-2-5 step at or below the smallest value to the one at or above the
    largest, and its ticks: every 1-2-5 step inside, or only the powers of ten when that would be too many."""
    positive = [v for v in values if v > 0] or [1.0]
    first, last = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
    steps = [(m, m * 10.0**e) for e in range(first, last + 1) for m in (1, 2, 5)]
    low = max(step for _, step in steps if step <= min(positive) * 1.0001)
    high = min((step for _, step in steps if step >= max(positive) / 1.0001), default=steps[-1][1])
    if high <= low:
        high = next(step for _, step in steps if step > low)
    inside = [(m, step) for m, step in steps if low <= step <= high]
    dense = len(inside) <= 9
    return low, high, [step for m, step in inside if dense or m == 1 or step in (low, high)]


def latency_strips(groups: Mapping[str, Sequence[float]], title: str) -> str:
    """One row per group: every sample as a dot on a log ms axis, the p25-p75 box, p50 (dark bar) and p95
    (orange tick), with n and the two percentiles written beside it. `groups` maps a label to seconds."""
    groups = {name: sorted(samples) for name, samples in groups.items() if samples}
    if not groups:
        return _svg(320, 40, [_text(8, 24, f"{title}: no latency samples")], title)
    row, plot_w = 30, 460
    left = _label_width([f"{name} (n={len(s)})" for name, s in groups.items()]) + 8
    top = 34
    low, high, ticks = _log_axis([v * 1000 for samples in groups.values() for v in samples])
    span = math.log10(high / low)

    def x(seconds: float) -> float:
        ms = min(max(seconds * 1000, low), high)
        return left + math.log10(ms / low) / span * plot_w

    bottom = top + row * len(groups)
    body = [_text(left, 18, title, extra='font-weight="600" font-size="14"')]
    for tick in ticks:
        tx = x(tick / 1000)
        body.append(f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{bottom}" stroke="#e5e7eb"/>')
        body.append(_text(tx, bottom + 14, f"{tick:g}", "middle", 'fill="#4b5563"'))
    body.append(_text(left + plot_w / 2, bottom + 30, "latency (ms, log scale)", "middle", 'fill="#4b5563"'))
    for i, (name, samples) in enumerate(groups.items()):
        mid = top + i * row + row / 2
        p25, p50, p75, p95 = (quantile(samples, q) for q in (0.25, 0.5, 0.75, 0.95))
        body.append(_text(left - 8, mid + 4, f"{name} (n={len(samples)})", "end"))
        body.append(
            f'<rect x="{x(p25):.1f}" y="{mid - 9}" width="{max(x(p75) - x(p25), 1):.1f}" height="18" '
            f'fill="#dbeafe" stroke="#93c5fd"/>'
        )
        for k, seconds in enumerate(samples):
            jitter = ((k * 0.618034) % 1 - 0.5) * 14
            body.append(
                f'<circle cx="{x(seconds):.1f}" cy="{mid + jitter:.1f}" r="2.2" fill="#1d4ed8" fill-opacity="0.45">'
                f"<title>{format_ms(seconds)} ms</title></circle>"
            )
        body.append(f'<rect x="{x(p50) - 1.5:.1f}" y="{mid - 11}" width="3" height="22" fill="#111827"/>')
        body.append(f'<rect x="{x(p95) - 1:.1f}" y="{mid - 11}" width="2" height="22" fill="{ORANGE}"/>')
        note = f"p50 {format_ms(p50)} · p95 {format_ms(p95)} ms"
        body.append(_text(left + plot_w + 10, mid + 4, note, extra='fill="#374151"'))
    legend = "dots: case runs · box: p25-p75 · black: p50 · orange: p95"
    body.append(_text(left, bottom + 46, legend, extra='fill="#6b7280" font-size="11"'))
    return _svg(left + plot_w + 170, bottom + 56, body, title)


def share_bars(shares: Mapping[str, tuple[float | None, int]], title: str) -> str:
    """Horizontal bars of shares in [0, 1]; `shares` maps a label to (value or None, sample count)."""
    row, bar_w = 26, 300
    left = _label_width(list(shares)) + 8
    body = [_text(left, 18, title, extra='font-weight="600" font-size="14"')]
    for i, (name, (value, n)) in enumerate(shares.items()):
        y = 30 + i * row
        body.append(_text(left - 8, y + 15, name, "end"))
        body.append(f'<rect x="{left}" y="{y + 3}" width="{bar_w}" height="{row - 8}" fill="#f3f4f6"/>')
        label = DASH if value is None or not n else f"{value:.1%} (n={n})"
        if value is not None and n:
            body.append(
                f'<rect x="{left}" y="{y + 3}" width="{bar_w * value:.1f}" height="{row - 8}" '
                f'fill="{_tint(BLUE, 0.85)}"><title>{escape(name)}: {escape(label)}</title></rect>'
            )
        body.append(_text(left + bar_w + 8, y + 15, label))
    return _svg(left + bar_w + 130, 38 + row * len(shares), body, title)
