"""Weights as pictures: a diverging palette and half-block rendering, no widgets.

A terminal cell is about twice as tall as it is wide, so one cell drawn with an upper
half block holds two square pixels (foreground on top, background below). Pictures
are arrays of palette *levels* (small ints) so a style is looked up once per pair of
levels and runs of equal cells become one segment: a 16x16 grid of 3x3 kernels is a
few hundred segments, cheap enough to redraw while a model trains.

Everything here is pure (numpy in, rich `Segment`s out) so it is tested without an app.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

LEVELS = 65  # palette steps from -scale to +scale; odd, so the middle one is exactly zero
ZERO = LEVELS // 2
GAP = -1  # no pixel: the terminal's own background
FRAME = -2  # the selection frame drawn in the gaps around one tile

# RdBu (ColorBrewer), blue for negative through a neutral grey-white to red for positive.
_STOPS = (
    (5, 48, 97),
    (33, 102, 172),
    (67, 147, 195),
    (146, 197, 222),
    (209, 229, 240),
    (247, 247, 247),
    (253, 219, 199),
    (244, 165, 130),
    (214, 96, 77),
    (178, 24, 43),
    (103, 0, 31),
)


def palette(levels: int = LEVELS) -> np.ndarray:
    """RGB (levels x 3, uint8) of the diverging scale, interpolated between the stops."""
    stops = np.array(_STOPS, dtype=np.float64)
    at = np.linspace(0, len(stops) - 1, levels)
    rgb = np.stack([np.interp(at, np.arange(len(stops)), stops[:, c]) for c in range(3)], axis=1)
    return np.rint(rgb).astype(np.uint8)


_RGB = palette()
_COLORS = [Color.from_rgb(*map(int, c)) for c in _RGB]


def color(level: int) -> Color:
    """The palette colour of one level."""
    return _COLORS[level]


def levels(values: np.ndarray, scale: float | np.ndarray) -> np.ndarray:
    """Weights -> palette levels: -scale is the bluest, 0 the neutral middle, +scale the reddest.

    `scale` is one number (per layer) or an array broadcast against `values` (per kernel);
    a zero scale (all-zero weights) draws neutral.
    """
    scale = np.asarray(scale, dtype=np.float64)
    safe = np.where((scale > 0) & np.isfinite(scale), scale, np.inf)
    idx = np.rint((np.nan_to_num(values) / safe + 1.0) * ZERO)
    return np.clip(idx, 0, LEVELS - 1).astype(np.int16)


def max_abs(values: np.ndarray, axes: tuple[int, ...] | None = None, keepdims: bool = False) -> np.ndarray | float:
    """The symmetric range of a colour scale: zero stays neutral whatever the sign balance."""
    out = np.abs(np.nan_to_num(values)).max(axis=axes, keepdims=keepdims, initial=0.0)
    return float(out) if axes is None else out


def tile(maps: np.ndarray, selected: int | None = None, columns: int | None = None) -> np.ndarray:
    """Level maps (n, h, w) laid out in a grid with 1-pixel gaps; the selected tile framed.

    Tiles fill rows of `columns` (default: all in one row); missing tiles are gaps.
    """
    n, h, w = maps.shape
    rows, cols = grid_shape(n, columns or n)
    out = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1), GAP, dtype=np.int16)
    for t in range(n):
        r, c = divmod(t, cols)
        out[r * (h + 1) + 1 : r * (h + 1) + 1 + h, c * (w + 1) + 1 : c * (w + 1) + 1 + w] = maps[t]
    if selected is not None and 0 <= selected < n:
        r, c = divmod(selected, cols)
        top, left = r * (h + 1), c * (w + 1)
        out[top, left : left + w + 2] = FRAME
        out[top + h + 1, left : left + w + 2] = FRAME
        out[top : top + h + 2, left] = FRAME
        out[top : top + h + 2, left + w + 1] = FRAME
    return out


def grid_shape(n: int, columns: int) -> tuple[int, int]:
    """(rows, columns) of `n` tiles laid out `columns` a row."""
    cols = max(1, min(columns, n)) if n else 1
    return (-(-n // cols) if n else 0), cols


def upscale(picture: np.ndarray, factor: int) -> np.ndarray:
    """Each pixel as a factor x factor block, for the enlarged view of one kernel."""
    return np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1) if factor > 1 else picture


@lru_cache(maxsize=8192)
def _cell(top: int, bottom: int, frame: str) -> tuple[str, Style | None]:
    """The character and style of one cell holding two pixels (levels, GAP or FRAME)."""

    def col(level: int) -> Color | None:
        if level == GAP:
            return None
        if level == FRAME:
            return Color.parse(frame)
        return _COLORS[level]

    fg, bg = col(top), col(bottom)
    if fg is None and bg is None:
        return " ", None
    if fg is None:
        return "▄", Style(color=bg)
    return "▀", Style(color=fg, bgcolor=bg)


@dataclass(frozen=True)
class Picture:
    """A level array drawn two pixel rows a terminal line; lines are built on demand."""

    pixels: np.ndarray
    frame: str = "#ffd700"

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1]) if self.pixels.ndim == 2 else 0

    @property
    def height(self) -> int:
        return -(-int(self.pixels.shape[0]) // 2) if self.pixels.ndim == 2 else 0

    def line(self, y: int) -> list[Segment]:
        """Terminal line `y`: runs of equal cells merged into one segment each."""
        if not 0 <= y < self.height:
            return []
        top = self.pixels[2 * y]
        bottom = self.pixels[2 * y + 1] if 2 * y + 1 < self.pixels.shape[0] else np.full_like(top, GAP)
        key = top.astype(np.int32) * 1024 + bottom.astype(np.int32)
        starts = np.concatenate(([0], np.flatnonzero(np.diff(key)) + 1))
        ends = np.append(starts[1:], len(key))
        segments = []
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            char, style = _cell(int(top[s]), int(bottom[s]), self.frame)
            segments.append(Segment(char * (e - s), style))
        return segments

    def lines(self) -> list[list[Segment]]:
        return [self.line(y) for y in range(self.height)]


def legend(scale: float, width: int = 21) -> Text:
    """The colour bar with its range: `-0.52 [blue..white..red] +0.52`."""
    width = max(3, width | 1)
    at = np.rint(np.linspace(0, LEVELS - 1, width)).astype(int)
    text = Text(f"{-scale:+.3g} ", style="bold")
    for level in at:
        text.append("█", Style(color=_COLORS[int(level)]))
    text.append(f" {scale:+.3g}", style="bold")
    return text


def value_cells(values: np.ndarray, scale: float) -> list[Text]:
    """A small kernel's numbers, each on its own colour, for the values view (v)."""
    lv = levels(values, scale)
    lines = []
    for row_values, row_levels in zip(values, lv, strict=True):
        line = Text()
        for v, level in zip(row_values.tolist(), row_levels.tolist(), strict=True):
            dark = abs(level - ZERO) > ZERO * 0.55
            line.append(f"{v:+.2f} ", Style(bgcolor=_COLORS[level], color="white" if dark else "black"))
        lines.append(line)
    return lines
