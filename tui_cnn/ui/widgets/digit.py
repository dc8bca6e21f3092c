"""Digits as pictures: grey pixels in half blocks, with an optional box (or scatter of pixels) lit up.

The receptive-field view lights the box one unit sees and dims the rest (on shuffled
pixels, the scatter that box came from in the digit); the feature view draws the digit
plain. Pure (numpy in, rich `Segment`s out), like `heatmap`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style

Box = tuple[int, int, int, int]  # y0, x0, y1, x1: half-open, in pixels

# (background, ink) RGB: plain, inside the lit box, outside it.
PLAIN = ((0, 0, 0), (255, 255, 255))
LIT = ((110, 70, 0), (255, 230, 120))
DIM = ((0, 0, 0), (90, 90, 90))


def colours(pixels: np.ndarray, lit: Box | np.ndarray | None = None) -> np.ndarray:
    """uint8 pixels [H, W] -> RGB [H, W, 3]: ink over background, what is lit (a box, or a bool
    mask [H, W] for a scattered field) lit and the rest dimmed."""
    ink = pixels.astype(np.float32)[..., None] / 255.0
    if lit is None:
        background, fore = (np.array(c, dtype=np.float32) for c in PLAIN)
        return np.rint(background + (fore - background) * ink).astype(np.uint8)
    if isinstance(lit, np.ndarray):
        inside = lit
    else:
        y0, x0, y1, x1 = lit
        inside = np.zeros(pixels.shape, dtype=bool)
        inside[y0:y1, x0:x1] = True
    lit = np.rint(np.array(LIT[0]) + (np.array(LIT[1]) - np.array(LIT[0])) * ink)
    dim = np.rint(np.array(DIM[0]) + (np.array(DIM[1]) - np.array(DIM[0])) * ink)
    return np.where(inside[..., None], lit, dim).astype(np.uint8)


@lru_cache(maxsize=4096)
def _style(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Style:
    return Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom))


def lines(rgb: np.ndarray, factor: int = 1) -> list[list[Segment]]:
    """RGB [H, W, 3] scaled up by `factor`, two pixel rows a terminal line, equal runs merged."""
    if factor > 1:
        rgb = np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)
    if rgb.shape[0] % 2:
        rgb = np.concatenate([rgb, np.zeros_like(rgb[:1])])
    out = []
    for y in range(0, rgb.shape[0], 2):
        top, bottom = rgb[y].tolist(), rgb[y + 1].tolist()
        line: list[Segment] = []
        run, start = None, 0
        for x, pair in enumerate(zip(map(tuple, top), map(tuple, bottom), strict=True)):
            if pair != run:
                if run is not None:
                    line.append(Segment("▀" * (x - start), _style(*run)))
                run, start = pair, x
        if run is not None:
            line.append(Segment("▀" * (len(top) - start), _style(*run)))
        out.append(line)
    return out


def fit(size: tuple[int, int], room: tuple[int, int], most: int = 3) -> int:
    """The largest whole scale (1..most) at which an HxW picture fits `room` (columns, lines)."""
    h, w = size
    columns, rows_ = room
    return max(1, min(most, columns // max(w, 1), (2 * rows_) // max(h, 1)))


def side_by_side(pictures: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """RGB pictures [H, W, 3] of one height in a row, `gap` black columns apart (a digit beside its unshuffled self)."""
    h = pictures[0].shape[0]
    space = np.zeros((h, gap, 3), dtype=np.uint8)
    return np.concatenate([part for p in pictures for part in (space, p)][1:], axis=1)
