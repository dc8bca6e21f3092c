"""Line charts in braille dots (2x4 a cell), for the live loss and accuracy curves.

Pure: series in, rich `Segment` lines out. The x axis spans the whole run (all its
steps), so a curve grows left to right in place; points sharing a dot column are
averaged, so a long run costs no more to draw than a short one. A series may carry a
band (a group's members' min..max at each point): every dot between the two is lit,
dim, under the curves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style

# Braille dot bits by (row 0-3, column 0-1) inside one cell.
_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)
GUTTER = 6  # characters of y labels on the left


@dataclass(frozen=True)
class Series:
    """One curve: x in steps, y in the chart's units, drawn in one colour."""

    xs: Sequence[float]
    ys: Sequence[float]
    color: str
    name: str = ""
    band: tuple[Sequence[float], Sequence[float]] | None = None  # low and high at each x, drawn under the curve


def _band_dots(series: Series, cols: int, rows: int, x_max: float, lo: float, hi: float) -> tuple[np.ndarray, ...]:
    """Dot coordinates (x, y) of every dot between the band's low and high, column by column."""
    assert series.band is not None
    edges: list[dict[int, int]] = []
    out_x: list[int] = []
    out_y: list[int] = []
    for edge in series.band:
        x, y = _dots(Series(series.xs, edge, series.color), cols, rows, x_max, lo, hi)
        edges.append(dict(zip(x.tolist(), y.tolist(), strict=True)))
    low, high = edges
    for col in sorted(set(low) & set(high)):
        top, bottom = sorted((low[col], high[col]))
        out_x.extend([col] * (bottom - top + 1))
        out_y.extend(range(top, bottom + 1))
    return np.array(out_x, dtype=int), np.array(out_y, dtype=int)


def _dots(series: Series, cols: int, rows: int, x_max: float, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Dot coordinates (x, y) of the series' polyline, y counted from the top."""
    xs = np.asarray(series.xs, dtype=np.float64)
    ys = np.asarray(series.ys, dtype=np.float64)
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if not len(xs):
        return np.empty(0, int), np.empty(0, int)
    dx = np.clip(np.rint(xs / max(x_max, 1e-12) * (cols - 1)), 0, cols - 1).astype(int)
    dy = (1.0 - (ys - lo) / ((hi - lo) or 1.0)) * (rows - 1)
    # Average the points that share a column: the curve's shape at this resolution.
    columns, inverse = np.unique(dx, return_inverse=True)
    mean_y = np.bincount(inverse, weights=dy) / np.bincount(inverse)
    py = np.clip(np.rint(mean_y), 0, rows - 1).astype(int)
    out_x, out_y = [int(columns[0])], [int(py[0])]
    for (x0, y0), (x1, y1) in zip(zip(columns, py, strict=True), zip(columns[1:], py[1:], strict=True), strict=False):
        n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        out_x.extend(np.rint(np.linspace(x0, x1, n)).astype(int)[1:].tolist())
        out_y.extend(np.rint(np.linspace(y0, y1, n)).astype(int)[1:].tolist())
    return np.array(out_x), np.array(out_y)


def chart(
    series: Sequence[Series],
    width: int,
    height: int,
    x_max: float,
    y_range: tuple[float, float],
    label: str = "{:.2f}",
) -> list[list[Segment]]:
    """`height` lines of `width` cells: y labels in a gutter, then the curves (later ones on top)."""
    plot_w = max(1, width - GUTTER)
    lo, hi = y_range
    bits = np.zeros((height, plot_w), dtype=np.uint8)
    owner = np.full((height, plot_w), -1, dtype=np.int16)
    bands = [k for k, s in enumerate(series) if s.band is not None]
    for k in bands:
        x, y = _band_dots(series[k], plot_w * 2, height * 4, x_max, lo, hi)
        if len(x):
            np.bitwise_or.at(bits, (y // 4, x // 2), _BITS[y % 4, x % 2])
            owner[y // 4, x // 2] = len(series) + k
    for k, s in enumerate(series):
        x, y = _dots(s, plot_w * 2, height * 4, x_max, lo, hi)
        if not len(x):
            continue
        np.bitwise_or.at(bits, (y // 4, x // 2), _BITS[y % 4, x % 2])
        owner[y // 4, x // 2] = k
    styles = [Style(color=s.color) for s in series] + [Style(color=s.color, dim=True) for s in series]
    dim = Style(dim=True)
    lines = []
    for row in range(height):
        text = label.format(hi) if row == 0 else label.format(lo) if row == height - 1 else ""
        line = [Segment(text[: GUTTER - 1].rjust(GUTTER - 1) + "│", dim)]
        run_start = 0
        for col in range(1, plot_w + 1):
            if col == plot_w or owner[row, col] != owner[row, run_start]:
                chars = "".join(chr(0x2800 + int(b)) if b else " " for b in bits[row, run_start:col])
                k = int(owner[row, run_start])
                line.append(Segment(chars, styles[k] if k >= 0 else None))
                run_start = col
        lines.append(line)
    return lines


def y_range(values: Sequence[float], floor: float | None = None, ceiling: float | None = None) -> tuple[float, float]:
    """A y range that holds every value, pinned to known bounds (0 for a loss, 1 for accuracy)."""
    finite = [v for v in values if np.isfinite(v)]
    lo = floor if floor is not None else (min(finite) if finite else 0.0)
    hi = ceiling if ceiling is not None else (max(finite) if finite else 1.0)
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi
