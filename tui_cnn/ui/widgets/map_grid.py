"""A focusable, scrollable grid of same-sized heatmaps that re-tiles itself to its width.

The lesson views show whole layers of maps (50 templates of 28x28, 4 kernels of 3x3):
as many columns as fit, scrolled with the arrows and page keys when they do not.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text

from ..panes.kernels import KernelGrid
from . import heatmap
from .heatmap import Picture


class MapGrid(KernelGrid, can_focus=True):
    """Level maps (n, h, w) tiled with 1-pixel gaps; `columns` says how many fit a row now."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.maps: np.ndarray | None = None
        self.columns = 0

    def show_maps(self, maps: np.ndarray | None, empty: Text | None = None) -> None:
        """Show these level maps, or the message `empty` instead of any."""
        self.maps = maps
        self.empty = empty or Text("")
        self._tile()

    def _tile(self) -> None:
        maps = self.maps
        if maps is None or not len(maps):
            self.columns = 0
            self.show(None, self.empty)
            return
        width = maps.shape[2] + 1
        self.columns = max(1, min(len(maps), (self.size.width - 1) // width))
        self.show(Picture(heatmap.tile(maps, None, self.columns)), self.empty)

    def on_resize(self) -> None:
        super().on_resize()
        self._tile()
